-- Best available, planned to read one row whatever the statistics say (issue #12).
--
-- A pick's statements run with generic plans (0014: planning was a good part of a pick), made once
-- per connection from the statistics of the moment. Two kinds of statistics the on-sale meets made
-- those plans read far more than the row a statement is about, and 200 picks queued behind each:
--
-- * taken before the schedule went on sale (any season: performances are added between ANALYZEs):
--   the row probe joined `seats` on section and row but not the venue, and read the venue's seats
--   whole for every row probed — 7 ms a row, 23 ms a pick once the front rows were full, against
--   0.1 ms;
-- * taken when what was on record had sold (a sold-out performance and little else): "available"
--   looked rare, so the probe went by (schedule, status) and read every available seat of the
--   schedule (2 ms a probe), and the block search and block lock started from the schedule's seats
--   (21 and 65 ms a pick).
--
-- Every statement of a pick now reads schedule_seats within one row's range of seat ids, and every
-- index it could take reads only that range:
-- * a row's seats have consecutive ids (insertVenueWithSeats numbers them in drawing order;
--   venue_rows keeps the first and last), and each statement states the range;
-- * the (schedule, status) index carries the seat id, so "the schedule's available seats in this
--   range" is one range of it too. Without it, that index served "the schedule's available seats"
--   and left the range to a filter, and nothing the statement says can keep the planner off an
--   index whose statistics promise next to no rows. It replaces the partial index of available
--   seats, which it makes redundant: one index fewer to write on every hold, payment and sweep.
--   The old index was smaller (deduplicated); a whole schedule's reads (availability, reports)
--   cost a little more through this one.
--   On a large deployed table, before migrating, build the new index and drop the two old ones by
--   hand with CREATE/DROP INDEX CONCURRENTLY: this file then finds that done. Otherwise it builds
--   the index in the migration's transaction, and its DROP INDEX keeps every read and write of
--   schedule_seats waiting until the migration commits.
-- * the seats side is bounded by the row's key (venue, section, row).
-- Were seats ever added to a row later, its range would take in other rows' seats: the probe would
-- say "maybe" for a full row (a look at the row, never a wrong seat: it only skips rows), and
-- row_free_blocks and lock_free_block check section and row. The probe reads schedule_seats alone,
-- and asks a seat its type by key only when a pick filters by it (as `exists`, the generic plan
-- hashed the venue's seats of that type once per probe).
--
-- And a connection's first pick now rehearses the pick's own statements too (best_available_pass
-- and lock_free_block, on a performance that does not exist, reading and locking nothing): 200 cold
-- connections planning them inside the turnstile had a quarter of a rush's first picks wait past
-- its 10 s.
--
-- scripts/explain.pg.test.ts holds every statement of a pick to one row's worth of reads under
-- both kinds of statistics.

create index if not exists schedule_seats_by_status on schedule_seats (schedule_id, status, seat_id);
drop index if exists schedule_seats_status;
drop index if exists schedule_seats_available;

-- Whether this session holds the session-level advisory lock `p_key` (pg_locks shows a bigint key
-- as its high and low halves). A pick's error path releases the turnstile only if it holds it.
create function session_holds_advisory_lock(p_key bigint) returns boolean
language sql volatile
return exists (
  select from pg_locks l
  where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.granted and l.objsubid = 1
    and l.classid = ((p_key >> 32) & 4294967295)::oid and l.objid = (p_key & 4294967295)::oid);

create or replace function row_has_free_seats(
  p_schedule_id bigint,
  p_row venue_rows,
  p_quantity int,
  p_seat_type text,
  p_max_price numeric,
  p_lapsed boolean
) returns boolean
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
declare
  n int;
begin
  if p_lapsed then
    select count(*) into n from (
      select from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
        and seat_is_free(ss)
        and (p_max_price is null or ss.price <= p_max_price)
        and (p_seat_type is null
             or (select seat.seat_type from seats seat where seat.id = ss.seat_id) = p_seat_type)
      limit p_quantity) as free;
  else
    select count(*) into n from (
      select from schedule_seats ss
      where ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
        and ss.status = 'available'
        and (p_max_price is null or ss.price <= p_max_price)
        and (p_seat_type is null
             or (select seat.seat_type from seats seat where seat.id = ss.seat_id) = p_seat_type)
      limit p_quantity) as free;
  end if;
  return n >= p_quantity;
end
$$;

-- the row as a venue_rows record (its id range), instead of its section and label
drop function row_free_blocks(bigint, bigint, text, text, int, text, numeric);
create function row_free_blocks(
  p_schedule_id bigint,
  p_row venue_rows,
  p_quantity int,
  p_seat_type text,
  p_max_price numeric
) returns table (seat_ids bigint[], start int, strands boolean)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  with free as (
    select seat.id as seat_id, seat.number, seat.rank,
           seat.number - row_number() over (order by seat.number) as grp
    from seats seat
    join schedule_seats ss on ss.seat_id = seat.id
      and ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
    where seat.venue_id = p_row.venue_id and seat.section = p_row.section and seat.row_label = p_row.row_label
      and seat_is_free(ss)
      and (p_seat_type is null or seat.seat_type = p_seat_type)
      and (p_max_price is null or ss.price <= p_max_price)
  ), blocks as (
    -- every free seat starts a block of the next `p_quantity` seats of its run, if the run has them
    select f.number as start, array_agg(f.seat_id) over block as seat_ids, sum(f.rank) over block as score,
           count(*) over block as seats, min(f.number) over run as lo, max(f.number) over run as hi
    from free f
    window run as (partition by f.grp),
           block as (partition by f.grp order by f.number rows between current row and p_quantity - 1 following)
  )
  select b.seat_ids, b.start, b.start - b.lo = 1 or b.hi - (b.start + p_quantity - 1) = 1
  from blocks b
  where b.seats = p_quantity
  order by b.start - b.lo = 1 or b.hi - (b.start + p_quantity - 1) = 1,
           (b.start - b.lo) % p_quantity + (b.hi - (b.start + p_quantity - 1)) % p_quantity
             > (b.hi - b.lo + 1) % p_quantity,
           b.score, b.start;
end
$$;

create or replace function lock_free_block(
  p_schedule_id bigint,
  p_venue_id bigint,
  p_row venue_rows,
  p_start int,
  p_quantity int,
  p_strands_ok boolean
) returns bigint[]
language plpgsql volatile
set plan_cache_mode = force_generic_plan
as $$
declare
  locked int[];
  seat_ids bigint[];
  last int := p_start + p_quantity - 1;
begin
  select coalesce(array_agg(x.number), '{}'), coalesce(array_agg(x.seat_id) filter (where x.number between p_start and last), '{}')
  into locked, seat_ids
  from (
    select seat.number, seat.id as seat_id from schedule_seats ss join seats seat on seat.id = ss.seat_id
    where seat.venue_id = p_venue_id and seat.section = p_row.section and seat.row_label = p_row.row_label
      and seat.number between p_start - 2 and last + 2
      and ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
      and seat_is_free(ss)
    order by ss.id
    for update of ss skip locked
  ) as x;
  if cardinality(seat_ids) < p_quantity then
    return '{}';
  end if;
  if not p_strands_ok
     and ((p_start - 1 = any(locked) and not p_start - 2 = any(locked))
          or (last + 1 = any(locked) and not last + 2 = any(locked))) then
    return null;
  end if;
  return seat_ids;
end
$$;

create or replace function best_available_pass(
  p_schedule_id bigint,
  p_venue_id bigint,
  p_quantity int,
  p_section text,
  p_seat_type text,
  p_max_price numeric,
  p_lapsed boolean
) returns bigint[]
language plpgsql volatile
set plan_cache_mode = force_generic_plan
as $$
declare
  candidate venue_rows;
  block record;
  seat_ids bigint[];
  -- rows with a block, all of which strand a seat: taken only if no row offers a better one
  stranding venue_rows[] := '{}';
  -- a block had a seat in flight
  contended boolean := false;
begin
  for candidate in
    select * from venue_rows r
    where r.venue_id = p_venue_id and (p_section is null or r.section = p_section)
    order by r.best_rank, r.section, r.row_label
  loop
    continue when not row_has_free_seats(p_schedule_id, candidate, p_quantity, p_seat_type, p_max_price, p_lapsed);
    for block in
      select * from row_free_blocks(p_schedule_id, candidate, p_quantity, p_seat_type, p_max_price)
    loop
      -- blocks that strand a seat come last in a row: a worse row may offer one that does not
      exit when block.strands;
      seat_ids := lock_free_block(p_schedule_id, p_venue_id, candidate, block.start, p_quantity, false);
      if cardinality(seat_ids) > 0 then
        return seat_ids;
      end if;
      contended := contended or seat_ids is not null;
    end loop;
    stranding := stranding || candidate;
  end loop;

  -- no row offers a block that strands nothing: the best one that does
  foreach candidate in array stranding loop
    for block in
      select * from row_free_blocks(p_schedule_id, candidate, p_quantity, p_seat_type, p_max_price)
    loop
      seat_ids := lock_free_block(p_schedule_id, p_venue_id, candidate, block.start, p_quantity, true);
      if cardinality(seat_ids) > 0 then
        return seat_ids;
      end if;
      contended := true;
    end loop;
  end loop;
  return case when contended then '{}'::bigint[] end;
end
$$;

create or replace function hold_best_available(
  p_user_id bigint,
  p_schedule_id bigint,
  p_quantity int,
  p_section text,
  p_seat_type text,
  p_max_price numeric,
  p_ttl_seconds int,
  p_max_seats_per_user int
) returns json
language plpgsql volatile
set plan_cache_mode = force_generic_plan
as $$
declare
  venue bigint;
  first_row venue_rows;
  seat_ids bigint[];
  -- count seats whose hold lapsed as free: only when the schedule has any (see below)
  lapsed boolean := false;
  in_turnstile boolean := false;
  lock_timeout_before text := current_setting('lock_timeout');
begin
  -- the per-user lock first, as every hold takes it (hold_seats takes it again, a no-op)
  select s.venue_id into venue
  from schedules s where s.id = p_schedule_id and pg_advisory_xact_lock(hold_lock_key(p_user_id, p_schedule_id)) is not null;
  if not found or p_quantity < 1 then
    -- no such schedule: hold_seats asked for no seats holds nothing and says so (one home per rule)
    return hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
  end if;

  if current_setting('ticketing.best_available_rehearsed', true) is distinct from 'yes' then
    -- the connection's first pick: its reads once, before it queues (above); the setting lives
    -- as long as the connection
    select * into first_row from venue_rows r
    where r.venue_id = venue and (p_section is null or r.section = p_section)
    order by r.best_rank, r.section, r.row_label limit 1;
    if found then
      perform row_has_free_seats(p_schedule_id, first_row, p_quantity, p_seat_type, p_max_price, false);
      perform row_has_free_seats(p_schedule_id, first_row, p_quantity, p_seat_type, p_max_price, true);
      perform 1 from row_free_blocks(p_schedule_id, first_row, p_quantity, p_seat_type, p_max_price);
      -- the pick's own statements, on a performance that does not exist: nothing to read or lock
      perform best_available_pass(-1, venue, p_quantity, p_section, p_seat_type, p_max_price, false);
      perform lock_free_block(-1, venue, first_row, 1, p_quantity, false);
    end if;
    perform hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
    perform set_config('ticketing.best_available_rehearsed', 'yes', false);
  end if;

  -- The seats are locked and written in one subtransaction (this block): an update of a row locked
  -- by another subtransaction of the same transaction would be recorded as a multixact.
  begin
    -- A queue in arrival order is not an error while it moves: the turnstile is waited for up to
    -- 10 s (the pick's budget under the 15 s statement limit), not the 5 s every other lock gets.
    perform set_config('lock_timeout', '10s', true);
    -- in the turnstile before the lock is granted: a cancel that lands right after the grant, before
    -- the next statement, must still find it released below (which releases only a lock it holds)
    in_turnstile := true;
    perform pg_advisory_lock(pick_lock_key(p_schedule_id));
    perform set_config('lock_timeout', lock_timeout_before, true);
    -- Every statement below takes a fresh snapshot (a volatile function): it sees every pick that
    -- left the turnstile before this one as committed, or its seats as locked.
    for pass in 1 .. 3 loop
      seat_ids := best_available_pass(p_schedule_id, venue, p_quantity, p_section, p_seat_type, p_max_price, lapsed);
      exit when cardinality(seat_ids) > 0;
      if seat_ids is not null then
        -- What is left is in flight. It almost surely stays taken, but SOLD_OUT must be the exact
        -- answer: look once more after a moment (a hold in flight is one short transaction).
        perform pg_sleep(0.005);
      elsif not lapsed and exists (
          select from schedule_seats ss
          where ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now()
            and ss.schedule_id = p_schedule_id) then
        -- No row has a block. Seats whose hold lapsed are free, but only the sweeper makes them
        -- `available` (the probe reads only those): look again counting them, reading whole rows.
        lapsed := true;
      else
        exit;
      end if;
    end loop;
    perform pg_advisory_unlock(pick_lock_key(p_schedule_id));
    in_turnstile := false;
    -- best-available blocks avoid strands by themselves: the explicit-pick rule does not bind them.
    -- No block: sold out, as far as this pick can tell — hold_seats asked for no seats holds
    -- nothing and answers with the schedule's sale state and the user's seats, which the caller
    -- checks first. A refusal of the block (the per-user limit, say) is one no other block changes.
    return hold_seats(p_user_id, p_schedule_id, coalesce(seat_ids, '{}'), p_ttl_seconds, p_max_seats_per_user, true);
  exception when others or query_canceled then
    -- a session-level lock outlives the transaction: never leave it behind
    if in_turnstile and session_holds_advisory_lock(pick_lock_key(p_schedule_id)) then
      perform pg_advisory_unlock(pick_lock_key(p_schedule_id));
    end if;
    raise;
  end;
end
$$;

-- The explicit hold plans its statements once per connection too. Called by a best-available pick,
-- hold_seats already ran with the pick's generic plans (a function's SET lasts through what it
-- calls); called for an explicit pick it planned its statements afresh on every call, PostgreSQL
-- finding no generic plan as cheap as a custom one for a few of them: 1.8 ms of a 2.8 ms hold,
-- against 0.7 ms under a pick. Its statements read by key (the schedule's seats asked for, the
-- user's orders in the schedule, the order's items), so one plan serves every call;
-- scripts/explain.pg.test.ts holds them to a few rows' worth of reads. A later CREATE OR REPLACE of
-- hold_seats must restate `set plan_cache_mode = force_generic_plan`, or it is lost.
alter function hold_seats(bigint, bigint, bigint[], int, int, boolean) set plan_cache_mode = force_generic_plan;
