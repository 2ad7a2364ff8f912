-- The cancellation wait-list (API.md "Second chances"): fans wait for seats of a sold-out schedule;
-- seats that come free are offered to them in entry order, as orders with a deadline of their own,
-- before anyone else may buy them.
--
-- How no freed seat is lost or offered twice:
-- * every statement that puts seats back on sale notes the schedule as due (`note_seats_freed`)
--   in the transaction that frees them — a commit either has both or neither;
-- * `serve_waitlist` makes the offers under the schedule's wait-list lock, in a transaction of its
--   own that takes that lock before any other: offers are made one schedule at a time, in entry
--   order, and an offer is an order holding its seats (hold_best_available), so a seat cannot go
--   to two entries, nor an entry get two offers (its row is locked and must still be waiting);
-- * the code that freed the seats serves the schedule right after its commit, and the sweeper
--   serves every schedule still due: a crash between the two leaves a due row, never lost seats.
-- Serving is not done inside the freeing transaction because that one already holds seat and order
-- locks: taking the wait-list lock and then the entrants' hold locks after them would reverse the
-- lock order every hold uses (hold lock → seats), and deadlock with a hold of the same seats.

create table waitlists (
  schedule_id bigint primary key references schedules on delete cascade,
  enabled boolean not null,
  updated_at timestamptz not null default now()
);

create table waitlist_entries (
  id bigint generated always as identity primary key,
  schedule_id bigint not null references schedules on delete cascade,
  user_id bigint not null references users on delete cascade,
  quantity int not null check (quantity > 0),
  section text check (length(section) between 1 and 50),
  seat_type text check (length(seat_type) between 1 and 30),
  max_price numeric(12, 2) check (max_price >= 0),
  -- waiting → offered → accepted (paid) | lapsed (not paid in time, or its payment failed) |
  -- declined (the fan cancelled the offer); waiting → left; waiting or offered → closed (the
  -- schedule was cancelled)
  status text not null default 'waiting'
    check (status in ('waiting', 'offered', 'accepted', 'lapsed', 'declined', 'left', 'closed')),
  -- the offer: an order of the entrant's; offers are sales history, never deleted
  order_id bigint references orders on delete restrict,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((status in ('offered', 'accepted', 'lapsed', 'declined')) = (order_id is not null))
);
-- one live entry per fan and schedule
create unique index waitlist_entries_one_live on waitlist_entries (schedule_id, user_id)
  where status in ('waiting', 'offered');
-- serving order, and positions
create index waitlist_entries_waiting on waitlist_entries (schedule_id, id) where status = 'waiting';
create index waitlist_entries_user on waitlist_entries (user_id, id desc);
create unique index waitlist_entries_order on waitlist_entries (order_id) where order_id is not null;

-- Schedules whose freed seats the wait-list has not looked at yet. Insert-only for the freeing
-- transactions (no row they could wait on); `serve_waitlist` deletes what it serves.
create table waitlist_due (
  schedule_id bigint not null references schedules on delete cascade,
  noted_at timestamptz not null default now()
);
create index waitlist_due_schedule on waitlist_due (schedule_id);

-- An order made by the wait-list: shown in the order view, and followed by its entry (below).
alter table orders add column offer boolean not null default false;

-- Serialises the offers of one schedule (and joins, so a join sees every offer made before it).
create function waitlist_lock_key(p_schedule_id bigint) returns bigint
language sql immutable parallel safe
return hashtextextended('waitlist:' || p_schedule_id::text, 0);

-- An entry as its fan sees it: a waiting entry of a cancelled or started schedule is closed,
-- whether or not anything wrote that yet (time passing closes it without a write).
create function waitlist_entry_status(e waitlist_entries, s schedules) returns text
language sql stable parallel safe
return case when e.status = 'waiting' and (s.status = 'cancelled' or s.start_at <= now()) then 'closed'
            else e.status end;

-- Seats of these schedules went back on sale: the wait-lists that are on are due. Called by every
-- statement that frees seats, in its transaction.
create function note_seats_freed(p_schedule_ids bigint[]) returns void
language sql volatile
begin atomic
  insert into waitlist_due (schedule_id)
  select w.schedule_id from waitlists w where w.schedule_id = any(p_schedule_ids) and w.enabled;
end;

-- An offer's order changed status: its entry follows (one home for what an offer's fate means to
-- its entry, whichever path changed the order — payment, expiry, a hold taking its lapsed seats,
-- the fan's cancel, a cancelled schedule). A lapse is announced for e-mail or push.
create function follow_offer() returns trigger
language plpgsql
as $$
declare
  next_status text;
begin
  next_status := case
    when new.status = 'paid' then 'accepted'
    when new.status = 'cancelled' and new.cancel_reason in ('expired', 'payment_failed') then 'lapsed'
    when new.status = 'cancelled' and new.cancel_reason = 'schedule_cancelled' then 'closed'
    when new.status = 'cancelled' then 'declined'
  end;
  if next_status is null then
    return null;
  end if;
  with moved as (
    update waitlist_entries e set status = next_status, updated_at = now()
    where e.order_id = new.id
      -- a late success after the offer lapsed still books the seats: the entry says so
      and (e.status = 'offered' or (e.status = 'lapsed' and next_status = 'accepted'))
    returning e.id, e.schedule_id, e.user_id
  )
  insert into outbox (detail_type, detail)
  select 'waitlist.lapsed',
         jsonb_build_object('entryId', m.id, 'scheduleId', m.schedule_id, 'userId', m.user_id,
                            'orderId', new.id, 'reason', new.cancel_reason)
  from moved m where next_status = 'lapsed';
  return null;
end
$$;
create trigger orders_follow_offer after update of status on orders
  for each row when (new.offer and old.status is distinct from new.status)
  execute function follow_offer();

-- Offers the schedule's freed seats to its waiting entries, in entry order: each entry gets the
-- best adjacent block that fits its quantity and filters (hold_best_available, 0012), as an order
-- of its own with the offer deadline; an entry no block fits (or whose fan is at the seat limit)
-- keeps its place, and later entries may still be served. Returns the number of offers made.
create function serve_waitlist(p_schedule_id bigint, p_offer_ttl_seconds int, p_max_seats_per_user int)
returns int
language plpgsql volatile
as $$
declare
  entry record;
  held json;
  offered_order bigint;
  offers int := 0;
  -- (quantity, section, seat type, max price) no block fitted in this run: a later entry asking
  -- the same needs no second search (seats only leave the sale during a run)
  unfit text[] := '{}';
  wish text;
  on_sale boolean;
  never boolean;
begin
  perform pg_advisory_xact_lock(waitlist_lock_key(p_schedule_id));
  select schedule_on_sale(s, c) and coalesce(w.enabled, false),
         s.status = 'cancelled' or s.start_at <= now() or not coalesce(w.enabled, false)
  into on_sale, never
  from schedules s join concerts c on c.id = s.concert_id
  left join waitlists w on w.schedule_id = s.id
  where s.id = p_schedule_id;
  if not coalesce(on_sale, false) then
    -- a schedule that sells again (sales reopened, its concert active again) is still due then; a
    -- cancelled or started one never sells again, and turning a wait-list on makes it due anew
    if coalesce(never, true) then
      delete from waitlist_due where schedule_id = p_schedule_id;
    end if;
    return 0;
  end if;
  -- what was due before this point is served now: the seats those transactions freed are visible
  -- to every statement below; a schedule noted after it stays due for the next run
  delete from waitlist_due where schedule_id = p_schedule_id;

  for entry in
    select e.id, e.user_id, e.quantity, e.section, e.seat_type, e.max_price
    from waitlist_entries e
    where e.schedule_id = p_schedule_id and e.status = 'waiting'
    order by e.id
  loop
    -- nothing on sale any more: the rest keep waiting (a sold-out show ends here at once)
    exit when not exists (
      select 1 from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.status = 'available'
    ) and not exists (
      select 1 from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.status in ('held', 'pending_payment') and seat_hold_lapsed(ss)
    );
    wish := concat_ws('|', entry.quantity, entry.section, entry.seat_type, entry.max_price);
    continue when wish = any(unfit);
    -- the fan may have left meanwhile: only a waiting entry is served, and it stays locked
    perform 1 from waitlist_entries e where e.id = entry.id and e.status = 'waiting' for update;
    continue when not found;

    held := hold_best_available(entry.user_id, p_schedule_id, entry.quantity, entry.section, entry.seat_type,
                                entry.max_price, p_offer_ttl_seconds, p_max_seats_per_user);
    offered_order := (held->'order'->>'id')::bigint;
    if offered_order is null then
      -- at the seat limit: this fan's own affair; otherwise no block fits this wish
      if coalesce((held->>'owned')::int, 0) + entry.quantity <= p_max_seats_per_user then
        unfit := unfit || wish;
      end if;
      continue;
    end if;

    update orders set offer = true where id = offered_order;
    update waitlist_entries set status = 'offered', order_id = offered_order, updated_at = now()
    where id = entry.id;
    insert into outbox (detail_type, detail)
    select 'waitlist.offered',
           jsonb_build_object('entryId', entry.id, 'scheduleId', p_schedule_id, 'userId', entry.user_id,
                              'orderId', o.id, 'totalAmount', o.total_amount::text,
                              'holdExpiresAt', o.hold_expires_at)
    from orders o where o.id = offered_order;
    offers := offers + 1;
  end loop;
  return offers;
end
$$;

-- The order view shows whether the order is a wait-list offer.
create or replace function order_json(o orders) returns json
language plpgsql stable parallel safe
as $$
begin
  return json_build_object(
    'id', o.id, 'userId', o.user_id, 'scheduleId', o.schedule_id, 'status', o.status,
    'totalAmount', o.total_amount::text, 'holdExpiresAt', o.hold_expires_at, 'createdAt', o.created_at,
    'offer', o.offer,
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
               'approvedAt', to_char(p.approved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'refundOf', p.refund_of, 'refundStatus', p.refund_status,
               'refundedAt', to_char(p.refund_sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             order by p.id)
      from payments p
      where p.order_id = o.id), '[]'));
end
$$;
