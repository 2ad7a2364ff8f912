-- Cancelling a schedule is a background job (functions/schedule-canceller.ts): the PATCH only stops
-- sales, and the job settles the schedule's open orders in small transactions until none is left,
-- and goes on looking, so that an order a hold created just after the cancel committed is settled too.

-- An order that is not settled yet: unpaid (its hold running or lapsed) or paid. Cancelled and
-- refunded are final. Cancelling a schedule settles every open order of it: unpaid ones are
-- cancelled, paid ones refunded. (`order_is_live`, 0005, is narrower: what the seat limit counts.)
create function order_is_open(o orders) returns boolean
language sql immutable parallel safe
return o.status in ('created', 'awaiting_payment', 'paid');

-- The job runs every minute for as long as the service does, and cancelled schedules only pile up:
-- it finds them here, then each one's open orders through orders_schedule_status, never reading
-- every schedule or every order.
create index schedules_cancelled on schedules (id) where status = 'cancelled';
