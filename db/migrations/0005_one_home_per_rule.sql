-- One home per rule. Each rule that SQL applies — when a seat is free, when an order's hold has
-- lapsed, what expiring an order does, the order as the API shows it, the advisory-lock keys — is
-- written once here; the hold function, the sweeper, late payments and the read paths call it.
--
-- The predicates and keys are `language sql` with a one-expression body and no stronger
-- volatility than their body: the planner inlines them where they are used, so a query that
-- calls `seat_is_free(ss)` is planned as if the expression were written out (index and partial
-- index matching included), with no function call per row.

-- A seat whose hold has lapsed: expiry is exact, whether or not the sweeper has run yet.
create function seat_hold_lapsed(ss schedule_seats) returns boolean
language sql stable parallel safe
return ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now();

-- A seat anyone may take now.
create function seat_is_free(ss schedule_seats) returns boolean
language sql stable parallel safe
return ss.status = 'available' or seat_hold_lapsed(ss);

-- An unpaid order whose seats are no longer reserved for it.
create function order_hold_lapsed(o orders) returns boolean
language sql stable parallel safe
return o.status in ('created', 'awaiting_payment') and o.hold_expires_at <= now();

-- A schedule anyone may buy seats of now: open for sales, not started, and its concert active. An
-- inactive concert is hidden from the catalogue, and its schedules stop selling too, even to someone
-- who kept a direct link. `c` is the schedule's concert.
create function schedule_on_sale(s schedules, c concerts) returns boolean
language sql stable parallel safe
return s.status = 'sales_open' and s.start_at > now() and c.is_active;

-- An order whose seats count as the user's: paid, or unpaid with its hold still running. The
-- per-user seat limit counts the items of these orders (the hold, and a late payment success).
create function order_is_live(o orders) returns boolean
language sql stable parallel safe
return o.status = 'paid' or (o.status in ('created', 'awaiting_payment') and not order_hold_lapsed(o));

-- Advisory-lock keys. The strings are those the code used before this migration, so a server
-- still running the old code takes the same locks during a deploy.
-- Serialises one user's orders in one schedule (the per-user seat limit).
create function hold_lock_key(p_user_id bigint, p_schedule_id bigint) returns bigint
language sql immutable parallel safe
return hashtextextended('hold:' || p_user_id::text || ':' || p_schedule_id::text, 0);

-- Serialises best-available picks in one row of a schedule.
create function row_lock_key(p_schedule_id bigint, p_section text, p_row_label text) returns bigint
language sql immutable parallel safe
return hashtextextended('row:' || p_schedule_id::text || ':' || p_section || ':' || p_row_label, 0);

-- Closes the open payment attempts of `p_order_ids` except `p_keep`: an order that expired, was
-- cancelled or was paid by another attempt can no longer be paid by them, and an attempt left
-- `initiated` would look in flight forever. `p_reason` is added after any note the payment already
-- carries, so a reconciliation flag (a wrong amount) survives. A success the PG reports later for
-- a closed attempt is still applied as a late success (domain/payments.ts).
create function fail_open_payments(p_order_ids bigint[], p_reason text, p_keep bigint default null) returns void
language plpgsql volatile
as $$
begin
  update payments p set status = 'fail', flag = concat_ws('; ', p.flag, p_reason), updated_at = now()
  where p.order_id = any(p_order_ids) and p.status = 'initiated' and p.id is distinct from p_keep;
end
$$;

-- Expires those of `p_order_ids` whose hold has lapsed: the order is cancelled with reason
-- `expired`, its held items are cancelled, `order.expired` goes to the outbox and its open payment
-- is closed. The seats are the caller's: it has them locked and gives them to someone or puts them
-- back on sale. Returns the ids it expired (an order already expired, or paid, is left alone).
-- PL/pgSQL, not SQL: a data-modifying body cannot be inlined, and PL/pgSQL keeps its plan for the
-- connection where a SQL function would be planned again in every statement that calls it.
create function expire_orders(p_order_ids bigint[]) returns setof bigint
language plpgsql volatile
as $$
declare
  expired_ids bigint[];
begin
  with expired as (
    update orders o
    set status = 'cancelled', cancel_reason = 'expired', hold_expires_at = null, total_amount = 0, updated_at = now()
    where o.id = any(p_order_ids) and order_hold_lapsed(o)
    returning o.id
  ), items as (
    update order_items oi set status = 'cancelled', updated_at = now()
    -- = any(array(...)): index look-ups for the batch, never a scan of the whole table
    where oi.order_id = any(array(select e.id from expired e)) and oi.status = 'held'
  ), events as (
    insert into outbox (detail_type, detail)
    select 'order.expired', jsonb_build_object('orderId', e.id, 'reason', 'expired') from expired e
  )
  select coalesce(array_agg(e.id), '{}') into expired_ids from expired e;
  perform fail_open_payments(expired_ids, 'order expired');
  return query select unnest(expired_ids);
end
$$;

-- The order as the API shows it, with its items and payments. PL/pgSQL for the same reason: a body
-- with subqueries cannot be inlined, so the plan cache is what is left to gain.
create function order_json(o orders) returns json
language plpgsql stable parallel safe
as $$
begin
  return json_build_object(
    'id', o.id, 'userId', o.user_id, 'scheduleId', o.schedule_id, 'status', o.status,
    'totalAmount', o.total_amount::text, 'holdExpiresAt', o.hold_expires_at, 'createdAt', o.created_at,
    'items', coalesce((
      select json_agg(json_build_object(
               'id', oi.id, 'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label,
               'number', seat.number, 'price', oi.price::text, 'status', oi.status) order by oi.id)
      from order_items oi
      join schedule_seats ss on ss.id = oi.schedule_seat_id
      join seats seat on seat.id = ss.seat_id
      where oi.order_id = o.id), '[]'),
    'payments', coalesce((
      select json_agg(json_build_object(
               'id', p.id, 'provider', p.provider, 'amount', p.amount::text, 'status', p.status, 'pgTid', p.pg_tid,
               'approvedAt', to_char(p.approved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) order by p.id)
      from payments p
      where p.order_id = o.id), '[]'));
end
$$;

-- The hold, now written with the rules above (what it does and why it is PL/pgSQL: see 0004).
-- Each statement below is planned once per connection; the function is still one call, one round
-- trip. A volatile function takes a fresh snapshot per statement, so every statement after the
-- per-user lock sees what committed before the lock was granted.
create or replace function hold_seats(
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
  schedule json;
  on_sale boolean;
  single_seat_rule boolean;
  -- the requested seats that belong to the schedule, locked
  seat_row_ids bigint[];
  found_seat_ids bigint[];
  taken_seat_ids bigint[];
  lapsed_order_ids bigint[];
  total numeric;
  owned int;
  expired_order_ids bigint[];
  new_order orders;
begin
  perform pg_advisory_xact_lock(hold_lock_key(p_user_id, p_schedule_id));

  select schedule_on_sale(s, c), s.single_seat_rule
  into on_sale, single_seat_rule
  from schedules s join concerts c on c.id = s.concert_id where s.id = p_schedule_id;
  if found then
    schedule := json_build_object('onSale', on_sale, 'singleSeatRule', single_seat_rule);
  end if;

  -- lock in id order: concurrent multi-seat orders cannot deadlock
  with locked as materialized (
    select ss.id, ss.seat_id, ss.price, seat_is_free(ss) as free,
           case when seat_hold_lapsed(ss) then ss.order_id end as lapsed_order_id
    from schedule_seats ss
    where ss.schedule_id = p_schedule_id and ss.seat_id = any(p_seat_ids)
    order by ss.id
    for update
  )
  select coalesce(array_agg(id order by id), '{}'),
         coalesce(array_agg(seat_id order by seat_id), '{}'),
         coalesce(array_agg(seat_id order by seat_id) filter (where not free), '{}'),
         coalesce(array_agg(distinct lapsed_order_id) filter (where lapsed_order_id is not null), '{}'),
         sum(price)
  into seat_row_ids, found_seat_ids, taken_seat_ids, lapsed_order_ids, total
  from locked;

  -- seats the user holds or owns in the schedule
  select count(*)::int into owned
  from orders o join order_items oi on oi.order_id = o.id
  where o.user_id = p_user_id and o.schedule_id = p_schedule_id and oi.status in ('held', 'booked')
    and order_is_live(o);

  -- an empty request is refused like any other that cannot be held, never an order of nothing
  if cardinality(p_seat_ids) > 0
     and cardinality(found_seat_ids) = cardinality(p_seat_ids)
     and cardinality(taken_seat_ids) = 0
     and owned + cardinality(p_seat_ids) <= p_max_seats_per_user
     and coalesce(on_sale and (p_single_seat_rule_checked or not single_seat_rule), false) then
    if cardinality(lapsed_order_ids) > 0 then
      -- the orders whose lapsed holds are taken lose them first (their items stop being live)
      expired_order_ids := array(select expire_orders(lapsed_order_ids));
    end if;

    insert into orders (user_id, schedule_id, total_amount, hold_expires_at)
    values (p_user_id, p_schedule_id, total, now() + make_interval(secs => p_ttl_seconds))
    returning * into new_order;

    with held as (
      update schedule_seats ss
      set status = 'held', hold_expires_at = new_order.hold_expires_at, order_id = new_order.id, version = ss.version + 1
      where ss.id = any(seat_row_ids)
      returning ss.id, ss.price
    )
    insert into order_items (order_id, schedule_seat_id, price)
    select new_order.id, h.id, h.price from held h order by h.id;
  end if;

  return json_build_object(
    'schedule', schedule,
    'foundSeatIds', to_json(found_seat_ids),
    'takenSeatIds', to_json(taken_seat_ids),
    'owned', owned,
    'expiredOrderIds', to_json(coalesce(expired_order_ids, '{}')),
    'order', case when new_order.id is not null then order_json(new_order) end);
end
$$;
