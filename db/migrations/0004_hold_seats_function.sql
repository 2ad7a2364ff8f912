-- The hold — the statement a rush is made of — as a PL/pgSQL function, for two reasons measured in
-- bench/: (1) its plan is cached per connection, where the same CTE sent as SQL was re-planned on
-- every call (1.3 ms of planning for 0.5 ms of work); (2) the per-user lock and the hold become one
-- call, one round trip, without BEGIN/COMMIT: in a volatile function each statement takes a fresh
-- snapshot, so the seat count sees every order that committed before the lock was granted.
--
-- What it does, all or nothing:
-- 1. serialise this user's orders in this schedule (the per-user seat limit);
-- 2. lock the requested seats in id order (concurrent multi-seat orders cannot deadlock) and see
--    which are free — a seat whose hold has lapsed is free;
-- 3. only if every seat belongs to the schedule and is free, the schedule is on sale and the user
--    stays within the limit: expire the orders whose lapsed holds are taken, create the order,
--    hold the seats, create the items.
-- It returns why it refused, or the order as the API shows it. It never raises for a refusal.
create function hold_seats(
  p_user_id bigint,
  p_schedule_id bigint,
  p_seat_ids bigint[],
  p_ttl_seconds int,
  p_max_seats_per_user int,
  p_single_seat_rule_checked boolean
) returns json
language plpgsql volatile
as $$
declare
  result json;
begin
  perform pg_advisory_xact_lock(hashtextextended('hold:' || p_user_id::text || ':' || p_schedule_id::text, 0));

  with locked as materialized (
    select ss.id, ss.seat_id, ss.price,
           (ss.status = 'available' or (ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now())) as free,
           case when ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now() then ss.order_id end as lapsed_order_id
    from schedule_seats ss
    where ss.schedule_id = p_schedule_id and ss.seat_id = any(p_seat_ids)
    order by ss.id
    for update
  ), owned as (
    select count(*)::int as n
    from orders o join order_items oi on oi.order_id = o.id
    where o.user_id = p_user_id and o.schedule_id = p_schedule_id and oi.status in ('held', 'booked')
      and (o.status = 'paid' or (o.status in ('created', 'awaiting_payment') and o.hold_expires_at > now()))
  ), schedule as (
    select status = 'sales_open' and start_at > now() as on_sale, single_seat_rule
    from schedules where id = p_schedule_id
  ), verdict as (
    select count(*) = cardinality(p_seat_ids)
           and bool_and(free)
           and (select n from owned) + cardinality(p_seat_ids) <= p_max_seats_per_user
           and coalesce((select on_sale and (p_single_seat_rule_checked or not single_seat_rule) from schedule), false) as ok
    from locked
  ), expired as (
    update orders set status = 'cancelled', cancel_reason = 'expired', hold_expires_at = null, total_amount = 0, updated_at = now()
    where id = any(array(select lapsed_order_id from locked)) and (select ok from verdict)
      and status in ('created', 'awaiting_payment') and hold_expires_at <= now()
    returning id
  ), expired_events as (
    insert into outbox (detail_type, detail)
    select 'order.expired', jsonb_build_object('orderId', id, 'reason', 'seat taken after the hold lapsed') from expired
  ), expired_items as (
    update order_items set status = 'cancelled', updated_at = now()
    where order_id = any(array(select id from expired)) and status = 'held'
    returning 1
  ), new_order as (
    insert into orders (user_id, schedule_id, total_amount, hold_expires_at)
    select p_user_id, p_schedule_id, sum(price), now() + make_interval(secs => p_ttl_seconds)
    from locked
    -- referencing expired_items makes the old items cancelled before the new ones are inserted
    having (select ok from verdict) and (select count(*) from expired_items) >= 0
    returning id, user_id, schedule_id, status, total_amount, hold_expires_at, created_at
  ), held as (
    update schedule_seats ss
    set status = 'held', hold_expires_at = o.hold_expires_at, order_id = o.id, version = ss.version + 1
    from new_order o
    where ss.id in (select id from locked)
    returning ss.id, ss.seat_id, o.id as order_id, ss.price
  ), items as (
    insert into order_items (order_id, schedule_seat_id, price)
    select order_id, id, price from held order by id
    returning id, schedule_seat_id, price, status
  )
  select json_build_object(
    'schedule', (select json_build_object('onSale', on_sale, 'singleSeatRule', single_seat_rule) from schedule),
    'foundSeatIds', coalesce((select json_agg(seat_id order by seat_id) from locked), '[]'),
    'takenSeatIds', coalesce((select json_agg(seat_id order by seat_id) from locked where not free), '[]'),
    'owned', (select n from owned),
    'expiredOrderIds', coalesce((select json_agg(id) from expired), '[]'),
    'order', (select json_build_object(
                'id', o.id, 'userId', o.user_id, 'scheduleId', o.schedule_id, 'status', o.status,
                'totalAmount', o.total_amount::text, 'holdExpiresAt', o.hold_expires_at, 'createdAt', o.created_at,
                'items', (select json_agg(json_build_object(
                            'id', i.id, 'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label,
                            'number', seat.number, 'price', i.price::text, 'status', i.status) order by i.id)
                          from items i join held h on h.id = i.schedule_seat_id join seats seat on seat.id = h.seat_id),
                'payments', '[]'::json)
              from new_order o))
  into result;
  return result;
end
$$;
