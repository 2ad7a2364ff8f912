-- Which payment paid for an order's tickets. An order can have several successful payments (a
-- second attempt charged too, a late success): only the one that booked the tickets may take them
-- away again when the gateway reports it cancelled; the others are money without a ticket.
alter table orders add column paid_by bigint references payments on delete restrict;

update orders o set paid_by = (
  select min(p.id) from payments p where p.order_id = o.id and p.status = 'success')
where o.status in ('paid', 'refunded');

-- Toss and PortOne attempts we closed without a word from the gateway (the hold expired, another
-- attempt superseded it, the order was cancelled) are asked once, a little later, whether money
-- moved after all (a confirm whose answer was lost, a lost webhook): when they were.
alter table payments add column gateway_checked_at timestamptz;
create index payments_closed_unchecked on payments (updated_at)
  where status = 'fail' and provider in ('toss', 'portone') and gateway_checked_at is null;
