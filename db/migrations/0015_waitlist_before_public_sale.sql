-- Freed seats reach the wait-list before the public, with no window (API.md "Second chances").
-- This replaces 0013's account of how freed seats reach the wait-list.
--
-- 0013 put freed seats back on sale and offered them right after the freeing commit: for the
-- moment in between they were on public sale, and a lapsed hold's seat was free to any fan's hold
-- the instant it lapsed, up to a sweeper interval before the wait-list saw it. Now, while a
-- schedule's wait-list is on and someone waits in it (`waitlist_has_waiting`), seats carry a mark,
-- `for_waitlist`, that `seat_is_free` — the one rule of what a fan may take — reads:
-- * the statement that frees seats marks them (kept for the wait-list) in the transaction that
--   notes the schedule due: no fan's hold counts them free, and a crash before the serving leaves
--   them kept and the schedule due, for the sweeper;
-- * a seat taken from sale is marked too (mark_taken_seat), so its hold, when it lapses, is not
--   free to a fan's hold either; `serve_waitlist` marks the seats held before the first entry
--   joined, and unmarks them once nobody waits;
-- * `serve_waitlist` takes kept seats and lapsed holds (expired as the sweeper would) into its
--   own transaction as ordinary free seats, makes the offers from them (hold_best_available sees
--   them free, as no one else can yet), and what no entry fits goes on public sale when it commits.
-- With nobody waiting, nothing changes: freed seats are on sale at once, lapsed seats free at once.
-- The mark is a column of the row, not a look at the wait-list: `seat_is_free` stays one inlined
-- expression, and a seat map or a pick's scan pays nothing for it.

-- The seat goes to the wait-list before the public. On an available seat: it was freed while
-- someone waited, and is kept until the wait-list is served. On a held seat: someone waited when it
-- was held, or joined since — when the hold lapses, the wait-list has it first. On no other seat.
alter table schedule_seats add column for_waitlist boolean not null default false;
alter table schedule_seats add constraint schedule_seats_for_waitlist_status
  check (not for_waitlist or status in ('available', 'held', 'pending_payment'));
-- the kept seats of a schedule: a handful at a time, between a freeing commit and its serving
create index schedule_seats_kept on schedule_seats (schedule_id) where for_waitlist and status = 'available';

-- The schedule's wait-list is on and someone waits in it: freed seats are the wait-list's first.
-- Asked once per seat that is held or freed, never by a read: a subquery keeps a SQL function
-- from being inlined, and a call per row of a seat map would cost a rush dearly.
create function waitlist_has_waiting(p_schedule_id bigint) returns boolean
language sql stable parallel safe
return exists (select 1 from waitlists w where w.schedule_id = p_schedule_id and w.enabled)
  and exists (select 1 from waitlist_entries e where e.schedule_id = p_schedule_id and e.status = 'waiting');

-- A seat a fan may take now: available, or held by a lapsed hold, and not the wait-list's first.
-- The one rule for every "may a fan buy this seat": hold_seats, hold_best_available, the
-- availability counts, the seat-status bitset, the seat maps, the single-seat rule and a late
-- payment's seats all call it. Still one inlinable expression of the row (0005).
create or replace function seat_is_free(ss schedule_seats) returns boolean
language sql stable parallel safe
return (ss.status = 'available' or seat_hold_lapsed(ss)) and not ss.for_waitlist;

-- A seat taken from sale is marked when someone waits (its lapse goes to them first); a booked or
-- cancelled seat never is. Whatever takes seats (a hold, an offer, a payment) leaves it to this
-- trigger: a seat's change of status costs one look at its schedule's wait-list.
create function mark_taken_seat() returns trigger
language plpgsql
as $$
begin
  new.for_waitlist := new.status in ('held', 'pending_payment')
    and (old.for_waitlist or waitlist_has_waiting(new.schedule_id));
  return new;
end
$$;
create trigger schedule_seats_mark_taken before update of status on schedule_seats
  for each row when (old.status is distinct from new.status and new.status <> 'available')
  execute function mark_taken_seat();

-- Offers the schedule's freed seats to its waiting entries, in entry order (0013 says how; above,
-- where the seats come from).
--
-- Deadlocks. The seats a run takes are locked in id order, as every hold locks them, while the run
-- holds nothing but the wait-list lock (which no one takes after seat or order locks); lapsed
-- holds SKIP LOCKED, as the sweeper takes them. Then the run holds seat locks — those it took, its
-- offers — while it takes each entrant's per-user hold lock: the reverse of a hold's order (hold
-- lock, then seats). So it never waits for one (0013 did, and deadlocked with the entrant's own
-- hold of a seat it had locked): it tries for a moment, and an entrant whose own hold keeps the
-- lock all that time is passed over for this run — as one at the seat limit is — and keeps the
-- place; the schedule stays due, so the next run (the sweeper's at the latest) comes back. (Ending the run there instead would let one fan, by holding without pause, keep every
-- freed seat of the schedule from everyone.)
create or replace function serve_waitlist(p_schedule_id bigint, p_offer_ttl_seconds int, p_max_seats_per_user int)
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
  lapsed record;
  entrant_locked boolean;
  passed_over boolean := false;
  waiting boolean;
begin
  perform pg_advisory_xact_lock(waitlist_lock_key(p_schedule_id));
  select schedule_on_sale(s, c) and coalesce(w.enabled, false),
         s.status = 'cancelled' or s.start_at <= now() or not coalesce(w.enabled, false)
  into on_sale, never
  from schedules s join concerts c on c.id = s.concert_id
  left join waitlists w on w.schedule_id = s.id
  where s.id = p_schedule_id;
  on_sale := coalesce(on_sale, false);
  never := coalesce(never, true);
  if not on_sale and not never then
    -- a schedule that sells again (sales reopened, its concert active again): its kept seats wait
    -- for that, and it stays due
    return 0;
  end if;
  -- what was due before this point is served now: the seats those transactions freed are visible
  -- to every statement below; seats kept after it have their schedule due for the next run
  delete from waitlist_due where schedule_id = p_schedule_id;

  -- The kept seats become ordinary free seats of this transaction: the offers below see them
  -- free, the public once it commits. Held seats go to the wait-list when they lapse while
  -- someone waits (marked as they are held, by mark_taken_seat): those held before the first
  -- entry joined are marked here, and none stays marked once nobody waits — a lapsed hold is then
  -- free at once, as without a wait-list. A schedule that will never serve its wait-list
  -- (cancelled, started, the list switched off) only puts its seats back on sale. One pass, its
  -- seats locked in id order as every hold and payment locks them (an order's seats include the
  -- kept seats of its cancelled items).
  waiting := not never and waitlist_has_waiting(p_schedule_id);
  update schedule_seats ss
  set for_waitlist = ss.status <> 'available' and waiting,
      version = ss.version + case when ss.status = 'available' then 1 else 0 end
  where ss.id = any(array(
    select k.id from schedule_seats k
    where k.schedule_id = p_schedule_id
      and ((k.status = 'available' and k.for_waitlist)
           or (k.status in ('held', 'pending_payment') and k.for_waitlist <> waiting))
    order by k.id for update));
  if not waiting then
    return 0;
  end if;
  -- The lapsed holds, which the public may not take while someone waits: expired and freed as
  -- the sweeper would, into this transaction.
  select coalesce(array_agg(l.id), '{}') as ids, coalesce(array_agg(distinct l.order_id), '{}') as order_ids
  into lapsed
  from (
    select ss.id, ss.order_id from schedule_seats ss
    where ss.schedule_id = p_schedule_id and seat_hold_lapsed(ss)
    for update skip locked
  ) as l;
  if cardinality(lapsed.ids) > 0 then
    perform expire_orders(lapsed.order_ids);
    update schedule_seats ss
    set status = 'available', for_waitlist = false, hold_expires_at = null, order_id = null, version = ss.version + 1
    where ss.id = any(lapsed.ids);
  end if;

  for entry in
    select e.id, e.user_id, e.quantity, e.section, e.seat_type, e.max_price
    from waitlist_entries e
    where e.schedule_id = p_schedule_id and e.status = 'waiting'
    order by e.id
  loop
    -- nothing on sale any more: the rest keep waiting (a sold-out show ends here at once)
    exit when not exists (
      select 1 from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.status = 'available' and not ss.for_waitlist
    );
    wish := concat_ws('|', entry.quantity, entry.section, entry.seat_type, entry.max_price);
    continue when wish = any(unfit);
    -- the fan may have left meanwhile: only a waiting entry is served, and it stays locked
    perform 1 from waitlist_entries e where e.id = entry.id and e.status = 'waiting' for update;
    continue when not found;
    -- the entrant's hold lock, never waited for (above): a hold of theirs ends in moments
    entrant_locked := pg_try_advisory_xact_lock(hold_lock_key(entry.user_id, p_schedule_id));
    for attempt in 1 .. 10 loop
      exit when entrant_locked;
      perform pg_sleep(0.002);
      entrant_locked := pg_try_advisory_xact_lock(hold_lock_key(entry.user_id, p_schedule_id));
    end loop;
    if not entrant_locked then
      -- the schedule stays due: the next run (the sweeper's at the latest) comes back to them
      passed_over := true;
      continue;
    end if;

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
  if passed_over then
    insert into waitlist_due (schedule_id) values (p_schedule_id);
  elsif not waitlist_has_waiting(p_schedule_id) then
    -- everyone was served: held seats lapse to the public again (marked anew by the next join).
    -- SKIP LOCKED: this run holds its offers' seats now, and waits for no seat; one left marked
    -- goes through the next serving (the sweeper's at the latest) on its way to sale
    update schedule_seats ss set for_waitlist = false
    where ss.id = any(array(
      select h.id from schedule_seats h
      where h.schedule_id = p_schedule_id and h.status in ('held', 'pending_payment') and h.for_waitlist
      order by h.id for update skip locked));
  end if;
  return offers;
end
$$;
