-- Best available through a turnstile (issue #12). 0014's picks worked side by side in "lanes" of
-- rows and kept out of each other's way with SKIP LOCKED claims, retries and bounded waits: 200
-- pickers on one section spent most of their time stepping around each other (30 holds/s, 45–89
-- picks past the 10 s statement limit on this machine). Picks of one schedule now choose their
-- seats one at a time, in the order they came, through a turnstile (an advisory lock):
--
-- * PostgreSQL queues the waiters of a lock in arrival order: fans are served first come, first
--   served, and a waiting pick costs no CPU.
-- * Alone in the turnstile, a pick needs no claim, no retry and no wait on another pick: it reads
--   the free seats, takes the best block that strands nothing and locks its seats. Then it leaves
--   the turnstile and writes its hold while the next pick chooses. So the turnstile is held for
--   the choice only (under a millisecond warm), not for the writes and the commit: a session-level
--   lock, released by the function itself — on every path, errors included — never left to the
--   end of the transaction. It is taken and released within one statement, so RDS Proxy sees no
--   session state.
-- * A pick whose hold is being written (or an explicit hold in flight) has its seats locked. The
--   next pick's snapshot may still show them free: it skips them (SKIP LOCKED) and judges
--   stranding on the seats it could lock (lock_free_block), so it neither waits for them nor
--   strands a seat beside them.
-- * In the turnstile a pick waits for nothing — seats are locked SKIP LOCKED — so nothing that
--   holds a lock and queues for the turnstile (the wait-list's serving, holding its kept seats)
--   can deadlock with it.
-- * A connection's first pick runs every statement of the pick for the first time: PostgreSQL
--   loads the tables' and functions' catalog entries and plans each statement, 55–115 ms here
--   against 3 ms warm, and everyone behind it in the turnstile would wait that long (200 new
--   connections at the start of a rush queued past the 5 s lock timeout). So a connection's first
--   pick runs its reads once before it queues, taking nothing. (Running the whole pick and rolling
--   it back held seats meanwhile: real picks skipped them and stranded seats beside them.)

create function pick_lock_key(p_schedule_id bigint) returns bigint
language sql immutable parallel safe
return hashtextextended('pick:' || p_schedule_id::text, 0);

-- Locks the seats of one block of a pick (numbers p_start.. of the row) with the two seats on each
-- side of it, all SKIP LOCKED, and returns the block's seat ids: '{}' when a seat of the block is
-- taken or in flight; null when `p_strands_ok` is false and taking the block would leave a single
-- free seat beside it. What the pick could not lock counts as taken, so stranding is judged on seats
-- no concurrent pick or hold can change. Seats locked for a block not taken stay locked until the
-- pick's transaction ends (a rival hold waits one short transaction at most).
create function lock_free_block(
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
      and ss.schedule_id = p_schedule_id and seat_is_free(ss)
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

-- One look over the rows of a best-available pick, best block first (0014: blocks that strand no
-- seat first, then blocks that keep their run fillable, then the seats' rank): the seat ids of the
-- block it locked; '{}' when it locked none but seats in flight may still come free; null when no
-- block fits. `p_lapsed`: count seats whose hold lapsed as free (reading whole rows; see
-- row_has_free_seats).
create function best_available_pass(
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
      select * from row_free_blocks(p_schedule_id, p_venue_id, candidate.section, candidate.row_label,
                                    p_quantity, p_seat_type, p_max_price)
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
      select * from row_free_blocks(p_schedule_id, p_venue_id, candidate.section, candidate.row_label,
                                    p_quantity, p_seat_type, p_max_price)
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

drop function hold_best_available(bigint, bigint, int, text, text, numeric, int, int);
drop function hold_locked_block(bigint, bigint, bigint, venue_rows, int, int, boolean, int, int);
drop function row_lock_key(bigint, text, text);
create function hold_best_available(
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
      perform 1 from row_free_blocks(p_schedule_id, venue, first_row.section, first_row.row_label,
                                     p_quantity, p_seat_type, p_max_price);
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
    perform pg_advisory_lock(pick_lock_key(p_schedule_id));
    perform set_config('lock_timeout', lock_timeout_before, true);
    in_turnstile := true;
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
    if in_turnstile then
      perform pg_advisory_unlock(pick_lock_key(p_schedule_id));
    end if;
    raise;
  end;
end
$$;

-- 0015's waitlist_has_waiting, asked by mark_taken_seat for every seat a hold takes, in PL/pgSQL:
-- PostgreSQL 17 plans a SQL function's body anew in every transaction that calls it when it
-- cannot be inlined (its subqueries prevent that), 0.14 ms a call; PL/pgSQL keeps the plan for the
-- connection. The rule is unchanged.
create or replace function waitlist_has_waiting(p_schedule_id bigint) returns boolean
language plpgsql stable parallel safe
as $$
begin
  return exists (select 1 from waitlists w where w.schedule_id = p_schedule_id and w.enabled)
    and exists (select 1 from waitlist_entries e where e.schedule_id = p_schedule_id and e.status = 'waiting');
end
$$;
