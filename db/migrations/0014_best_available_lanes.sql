-- Best available without lock queues (issue #12): 0012's hold_best_available, same signature and
-- answer, made fast under a rush. What changed, and what the bench taught, is in bench/README.md.
--
-- * Rows come from venue_rows (derived from the seats, kept by triggers) and a probe through a
--   partial index of available seats skips full rows, instead of grouping every free seat of the
--   schedule by row on every pick (5 ms for 20,000 seats).
-- * Up to 4 picks work in one row at once ("lanes" of the row's claim), each locking its block
--   and the two seats on either side of it SKIP LOCKED: whether a block strands a seat is judged
--   on seats no concurrent pick can change. One pick per row made 200 pickers on a 20-row section
--   queue 10 deep per row.
-- * Blocks keep the rest of their run fillable by blocks of the same size (a pair beside the
--   centre of 100 seats, not in it: 48 + 50 seats left, not 49 + 49).
-- * A pass over the rows that holds nothing rolls back its subtransaction, giving back every lane
--   and seat it took, and the pick then queues for a lane of a busy row for at most 1.5 s,
--   holding nothing: no two picks wait for each other and none meets the 5 s lock timeout.

-- The functions below run with generic plans from their first call: a pick runs each of its
-- statements a few times per connection at most (200 fans, 1,000 picks), so the first five
-- custom plans PostgreSQL makes before it settles on a generic one were most of the planning,
-- and planning was a good part of a pick (46.5 vs 62.4 and 55.2 holds/s, side by side).

drop function hold_locked_block(bigint, bigint, bigint[], int, int);
drop function row_free_blocks(bigint, bigint, text, text, int, text, numeric);

-- The rows of each venue, best first, derived from its seats (kept by the triggers below): a
-- pick walks the rows of a venue here instead of grouping every free seat of the schedule by row
-- (5 ms for 20,000 seats). A row's seats have consecutive ids (insertVenueWithSeats numbers them
-- in drawing order); first and last bound the range a probe reads, which still checks the row.
create table venue_rows (
  venue_id bigint not null references venues on delete cascade,
  section text not null,
  row_label text not null,
  first_seat_id bigint not null,
  last_seat_id bigint not null,
  best_rank int not null,
  primary key (venue_id, section, row_label)
);
create index venue_rows_best on venue_rows (venue_id, best_rank, section, row_label);

create function refresh_venue_rows(p_venue_ids bigint[]) returns void
language plpgsql volatile
as $$
begin
  delete from venue_rows r where r.venue_id = any(p_venue_ids);
  insert into venue_rows (venue_id, section, row_label, first_seat_id, last_seat_id, best_rank)
  select seat.venue_id, seat.section, seat.row_label, min(seat.id), max(seat.id), min(seat.rank)
  from seats seat where seat.venue_id = any(p_venue_ids)
  group by seat.venue_id, seat.section, seat.row_label;
end
$$;

create function seats_changed_inserted() returns trigger
language plpgsql as $$
begin
  perform refresh_venue_rows(array(select distinct n.venue_id from new_seats n));
  return null;
end
$$;
create function seats_changed_deleted() returns trigger
language plpgsql as $$
begin
  perform refresh_venue_rows(array(select distinct o.venue_id from old_seats o));
  return null;
end
$$;
create function seats_changed_updated() returns trigger
language plpgsql as $$
begin
  perform refresh_venue_rows(array(select n.venue_id from new_seats n union select o.venue_id from old_seats o));
  return null;
end
$$;
create trigger seats_rows_inserted after insert on seats
  referencing new table as new_seats for each statement execute function seats_changed_inserted();
create trigger seats_rows_deleted after delete on seats
  referencing old table as old_seats for each statement execute function seats_changed_deleted();
create trigger seats_rows_updated after update on seats
  referencing old table as old_seats new table as new_seats for each statement execute function seats_changed_updated();

select refresh_venue_rows(array(select id from venues));

-- Free seats by seat id, for the probe "has this row `quantity` free seats?": a full row costs one
-- look at an empty index range. Seats whose hold lapsed are not in it: see hold_best_available.
create index schedule_seats_available on schedule_seats (schedule_id, seat_id) where status = 'available';

-- Blocks of `p_quantity` adjacent free seats in one row of a schedule, best first:
-- 1. blocks that leave no single free seat beside them (`strands`) before those that do;
-- 2. then blocks that leave the run's remaining seats as fillable by blocks of the same size as
--    before: a pair from the centre of 100 free seats would leave 49 on each side, and sooner or
--    later one seat on each side that no pair can use; the pair beside it leaves 48 and 50. A
--    block at either end of its run always qualifies, so this never sends a pick to a worse row;
-- 3. then by the seats' rank (rows nearer the stage, seats nearer the centre).
-- Free runs are found with gaps-and-islands (consecutive numbers share `number - row_number()`).
-- Seats are numbered 1..n without gaps in each row.
create function row_free_blocks(
  p_schedule_id bigint,
  p_venue_id bigint,
  p_section text,
  p_row_label text,
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
    join schedule_seats ss on ss.schedule_id = p_schedule_id and ss.seat_id = seat.id
    where seat.venue_id = p_venue_id and seat.section = p_section and seat.row_label = p_row_label
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

-- Holds one block of a best-available pick, with hold_seats' answer: the order, or a refusal no
-- other block would change (not on sale, the per-user limit); `{"inFlight": true}` when a seat
-- of the block is taken or in flight; null when `p_strands_ok` is false and taking the block
-- would leave a single free seat beside it.
--
-- Several picks work in one row at once, each deciding from its own snapshot, so the block's
-- seats are locked together with the two seats on each side of it, with SKIP LOCKED: a seat
-- another pick (or an explicit hold) has in flight is neither waited for nor trusted. What the
-- pick locked is free and stays so until it ends; what it could not lock counts as taken. So
-- whether the block strands a seat is decided on seats no concurrent pick can change, and two
-- picks cannot strand a seat between their blocks: the one that comes second cannot lock the
-- seats beside the first one's block. Seats locked for a block that is not taken stay locked
-- until the pick ends (a subtransaction to release them would cost every pick, and make
-- PostgreSQL record the later update of the seats it keeps as a multixact): the pick waits on no
-- seat after this point, so they cannot deadlock, and a rival hold of them waits one short
-- transaction at most.
create function hold_locked_block(
  p_user_id bigint,
  p_schedule_id bigint,
  p_venue_id bigint,
  p_row venue_rows,
  p_start int,
  p_quantity int,
  p_strands_ok boolean,
  p_ttl_seconds int,
  p_max_seats_per_user int
) returns json
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
    -- taken since the snapshot the block came from, or in flight: either way a hold that is
    -- still running, or has just ended, had it; the caller looks again rather than give up
    return json_build_object('inFlight', true);
  end if;
  if not p_strands_ok
     and ((p_start - 1 = any(locked) and not p_start - 2 = any(locked))
          or (last + 1 = any(locked) and not last + 2 = any(locked))) then
    return null;
  end if;
  -- best-available blocks avoid strands by themselves: the explicit-pick rule does not bind them
  return hold_seats(p_user_id, p_schedule_id, seat_ids, p_ttl_seconds, p_max_seats_per_user, true);
end
$$;

-- Whether a row has at least `p_quantity` free seats matching the filters: it stops at the
-- `p_quantity`th. `p_lapsed`: count seats whose hold lapsed as free too (the exact answer, reading
-- every seat of the row); otherwise only `available` seats, through schedule_seats_available.
create function row_has_free_seats(
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
      select from schedule_seats ss join seats seat on seat.id = ss.seat_id
      where ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
        and seat_is_free(ss) and seat.section = p_row.section and seat.row_label = p_row.row_label
        and (p_seat_type is null or seat.seat_type = p_seat_type)
        and (p_max_price is null or ss.price <= p_max_price)
      limit p_quantity) as free;
  else
    select count(*) into n from (
      select from schedule_seats ss join seats seat on seat.id = ss.seat_id
      where ss.schedule_id = p_schedule_id and ss.seat_id between p_row.first_seat_id and p_row.last_seat_id
        and ss.status = 'available' and seat.section = p_row.section and seat.row_label = p_row.row_label
        and (p_seat_type is null or seat.seat_type = p_seat_type)
        and (p_max_price is null or ss.price <= p_max_price)
      limit p_quantity) as free;
  end if;
  return n >= p_quantity;
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
  candidate venue_rows;
  block record;
  held json;
  -- rows this pick claimed and found only stranding blocks in, best first
  stranding venue_rows[];
  -- rows with free seats whose lanes are all busy, or with a block in flight: worth a second look
  busy venue_rows[];
  -- the row whose lane the next pass queues for first
  queued venue_rows;
  -- count seats whose hold lapsed as free: only when the schedule has any (see below)
  lapsed boolean := false;
  lock_timeout_before text := current_setting('lock_timeout');
  started timestamptz := clock_timestamp();
  -- picks that may work in one row at once (see hold_locked_block for how they keep out of each
  -- other's way); more would mostly collide on the same best blocks
  lanes constant int := 4;
  -- a block of the row had a seat in flight
  contended boolean;
begin
  -- The per-user lock first, as every hold takes it (hold_seats takes it again, a no-op): a pick
  -- that held seats before waiting for it could deadlock with an explicit hold of the same user.
  select s.venue_id into venue
  from schedules s where s.id = p_schedule_id and pg_advisory_xact_lock(hold_lock_key(p_user_id, p_schedule_id)) is not null;
  if not found or p_quantity < 1 then
    -- no such schedule: hold_seats asked for no seats holds nothing and says so (one home per rule)
    return hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
  end if;

  -- Each pass over the rows runs in a subtransaction. A pass that holds nothing rolls it back,
  -- which gives back every lane it claimed and every seat it locked (rolling back a
  -- subtransaction releases the locks taken in it), so that the pick then waits holding nothing:
  -- two waiting picks can never wait for each other.
  loop
    begin
      if queued is not null then
        -- Every lane of the rows with free seats was busy, or a seat in flight: queue for a lane
        -- of one of them, chosen at random so that the queues spread. Waiting in a lock queue
        -- costs no CPU, where looking again and again would take it from the picks being
        -- served. A lane is held one short transaction, so the wait is short; one of more than
        -- a second ends in a fresh look at every row, never in the 5 s lock timeout.
        perform set_config('lock_timeout', '1500ms', true);
        perform pg_advisory_xact_lock(row_lock_key(p_schedule_id, queued.section, queued.row_label)
                                      # floor(random() * lanes)::int);
        perform set_config('lock_timeout', lock_timeout_before, true);
      end if;
      stranding := '{}';
      busy := '{}';
      for candidate in
        select * from venue_rows r
        where r.venue_id = venue and (p_section is null or r.section = p_section)
        order by r.best_rank, r.section, r.row_label
      loop
        continue when not row_has_free_seats(p_schedule_id, candidate, p_quantity, p_seat_type, p_max_price, lapsed);
        -- one lane of the row, at random, without waiting: trying every lane of every busy row
        -- would cost more lock-manager traffic than the rows are worth
        if not pg_try_advisory_xact_lock(row_lock_key(p_schedule_id, candidate.section, candidate.row_label)
                                         # floor(random() * lanes)::int) then
          busy := busy || candidate;
          continue;
        end if;
        -- a fresh look at the row (picks that worked in this lane before have committed)
        contended := false;
        for block in
          select * from row_free_blocks(p_schedule_id, venue, candidate.section, candidate.row_label,
                                        p_quantity, p_seat_type, p_max_price)
        loop
          -- strands by the snapshot already (the blocks that do not come first)
          continue when block.strands;
          held := hold_locked_block(p_user_id, p_schedule_id, venue, candidate, block.start, p_quantity, false,
                                    p_ttl_seconds, p_max_seats_per_user);
          if held->>'inFlight' is not null then
            contended := true;
          elsif held is not null then
            return held;
          end if;
        end loop;
        if contended then
          busy := busy || candidate;
        end if;
        -- a worse row may offer a block that strands nothing: come back only if none does
        stranding := stranding || candidate;
      end loop;

      -- no claimed row offers a block that strands nothing: the best one that does
      foreach candidate in array stranding loop
        for block in
          select * from row_free_blocks(p_schedule_id, venue, candidate.section, candidate.row_label,
                                        p_quantity, p_seat_type, p_max_price)
        loop
          held := hold_locked_block(p_user_id, p_schedule_id, venue, candidate, block.start, p_quantity, true,
                                    p_ttl_seconds, p_max_seats_per_user);
          if held->>'inFlight' is not null then
            busy := busy || candidate;
          elsif held is not null then
            return held;
          end if;
        end loop;
      end loop;
      raise exception 'nothing held in this pass' using errcode = 'BA001';
    exception when lock_not_available or deadlock_detected or sqlstate 'BA001' then
      -- the rollback has put lock_timeout back too
      null;
    end;

    if cardinality(busy) = 0 then
      -- No row has a block. Seats whose hold lapsed are free, but only the sweeper makes them
      -- `available`: when the schedule has any, look again counting them (reading whole rows),
      -- so that SOLD_OUT is always the exact answer.
      exit when lapsed or not exists (
        select from schedule_seats ss
        where ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now()
          and ss.schedule_id = p_schedule_id);
      lapsed := true;
      queued := null;
      continue;
    end if;
    if clock_timestamp() - started > interval '10 seconds' then
      -- the statement timeout is near: a lock timeout, which the API answers with 503
      raise exception 'every row with free seats stayed busy' using errcode = 'lock_not_available';
    end if;
    queued := busy[1 + floor(random() * cardinality(busy))::int];
  end loop;
  -- sold out, as far as this pick can tell: hold_seats asked for no seats holds nothing and
  -- answers with the schedule's sale state and the user's seats, which the caller checks first
  return hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
end
$$;
