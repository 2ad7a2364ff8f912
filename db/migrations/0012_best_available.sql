-- "N best seats" in one call: the whole pick — per-user lock, row claims, the block search, the
-- hold — runs in the database, one round trip instead of a dozen. The wait-list calls it from SQL
-- to make its offers, so its signature and its answer (hold_seats' json) are a contract.
--
-- Picks spread over rows instead of queueing: a pick claims a row with a non-blocking
-- transaction-level advisory lock (row_lock_key, 0005); a row another pick is working in is
-- skipped for the next best. One pick per row at a time is what keeps two picks, each deciding
-- from its own snapshot, from stranding a single seat between their blocks. Seats are locked with
-- SKIP LOCKED: a seat an explicit hold has in flight sends the pick to another block instead of
-- making it wait. Only when every row with a usable block is claimed does a pick queue, for one
-- of the best few rows and for at most 200 ms, then looks again: it never meets the 5 s lock
-- timeout that used to answer 503.

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
) returns table (seat_ids bigint[], strands boolean)
language plpgsql stable
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
  select b.seat_ids, b.start - b.lo = 1 or b.hi - (b.start + p_quantity - 1) = 1
  from blocks b
  where b.seats = p_quantity
  order by b.start - b.lo = 1 or b.hi - (b.start + p_quantity - 1) = 1,
           (b.start - b.lo) % p_quantity + (b.hi - (b.start + p_quantity - 1)) % p_quantity
             > (b.hi - b.lo + 1) % p_quantity,
           b.score, b.start;
end
$$;

-- Holds one block of a best-available pick, with hold_seats' answer: the order, or a refusal no
-- other block would change (not on sale, the per-user limit). Null when a seat of the block is
-- gone or has an explicit hold in flight: the seats are locked with SKIP LOCKED, so the pick never
-- waits on them (hold_seats then finds them already locked). A seat locked here for a block that
-- turns out incomplete stays locked until the pick ends (a subtransaction to release it would cost
-- every pick, and make PostgreSQL record the later update of the seats it keeps as a multixact):
-- the pick waits on no seat after this point, so holding it cannot deadlock, and it delays a rival
-- hold of that seat by one short transaction at most.
create function hold_locked_block(
  p_user_id bigint,
  p_schedule_id bigint,
  p_seat_ids bigint[],
  p_ttl_seconds int,
  p_max_seats_per_user int
) returns json
language plpgsql volatile
as $$
declare
  locked_count int;
begin
  select count(*) into locked_count
  from (
    select ss.id from schedule_seats ss
    where ss.schedule_id = p_schedule_id and ss.seat_id = any(p_seat_ids) and seat_is_free(ss)
    order by ss.id
    for update skip locked
  ) as locked;
  if locked_count < cardinality(p_seat_ids) then
    return null;
  end if;
  -- best-available blocks avoid strands by themselves: the explicit-pick rule does not bind them
  return hold_seats(p_user_id, p_schedule_id, p_seat_ids, p_ttl_seconds, p_max_seats_per_user, true);
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
as $$
declare
  venue bigint;
  candidate venue_rows;
  block record;
  held json;
  -- rows this pick claimed and found only stranding blocks in, best first
  stranding venue_rows[];
  -- rows with free seats that another pick is working in, best first
  busy venue_rows[];
  queued venue_rows;
  -- count seats whose hold lapsed as free: only when the schedule has any (see below)
  lapsed boolean := false;
  lock_timeout_before text := current_setting('lock_timeout');
  started timestamptz := clock_timestamp();
begin
  -- The per-user lock first, as every hold takes it (hold_seats takes it again, a no-op): a pick
  -- that held seats before waiting for it could deadlock with an explicit hold of the same user.
  select s.venue_id into venue
  from schedules s where s.id = p_schedule_id and pg_advisory_xact_lock(hold_lock_key(p_user_id, p_schedule_id)) is not null;
  if not found or p_quantity < 1 then
    -- no such schedule: hold_seats asked for no seats holds nothing and says so (one home per rule)
    return hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
  end if;

  loop
    stranding := '{}';
    busy := '{}';
    for candidate in
      select * from venue_rows r
      where r.venue_id = venue and (p_section is null or r.section = p_section)
      order by r.best_rank, r.section, r.row_label
    loop
      continue when not row_has_free_seats(p_schedule_id, candidate, p_quantity, p_seat_type, p_max_price, lapsed);
      if not pg_try_advisory_xact_lock(row_lock_key(p_schedule_id, candidate.section, candidate.row_label)) then
        busy := busy || candidate;
        continue;
      end if;
      -- the row is ours: a fresh look (a pick that worked here before has committed)
      for block in
        select * from row_free_blocks(p_schedule_id, venue, candidate.section, candidate.row_label,
                                      p_quantity, p_seat_type, p_max_price)
      loop
        if block.strands then
          -- a worse row may offer a block that strands nothing: come back only if none does
          stranding := stranding || candidate;
          exit;
        end if;
        held := hold_locked_block(p_user_id, p_schedule_id, block.seat_ids, p_ttl_seconds, p_max_seats_per_user);
        if held is not null then
          return held;
        end if;
      end loop;
    end loop;

    -- no claimed row offers a block that strands nothing: the best one that does
    foreach candidate in array stranding loop
      for block in
        select * from row_free_blocks(p_schedule_id, venue, candidate.section, candidate.row_label,
                                      p_quantity, p_seat_type, p_max_price)
      loop
        held := hold_locked_block(p_user_id, p_schedule_id, block.seat_ids, p_ttl_seconds, p_max_seats_per_user);
        if held is not null then
          return held;
        end if;
      end loop;
    end loop;

    if cardinality(busy) = 0 then
      -- No row has a block. Seats whose hold lapsed are free, but only the sweeper makes them
      -- `available`: when the schedule has any, look again counting them (reading whole rows),
      -- so that SOLD_OUT is always the exact answer.
      exit when lapsed or not exists (
        select from schedule_seats ss
        where ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now()
          and ss.schedule_id = p_schedule_id);
      lapsed := true;
      continue;
    end if;
    if clock_timestamp() - started > interval '10 seconds' then
      -- the statement timeout is near: a lock timeout, which the API answers with 503
      raise exception 'every row with free seats stayed busy' using errcode = 'lock_not_available';
    end if;
    -- Every row with a usable block is busy with another pick: queue for one of the best few
    -- (spread, so that the queue is not all on one row) for at most a moment, in a subtransaction
    -- that gives the row back when it turns out full (rolling back a subtransaction releases the
    -- advisory locks taken in it). A claim lasts one short transaction, so the wait is short; a
    -- longer one ends in a fresh look at every row instead of a lock timeout. The rows this pick
    -- claimed and could not use stay claimed while it waits: two picks waiting for each other's
    -- rows both give up after the moment, well before the deadlock detector would fail one.
    queued := busy[1 + floor(random() * least(cardinality(busy), 4))::int];
    begin
      perform set_config('lock_timeout', '200ms', true);
      perform pg_advisory_xact_lock(row_lock_key(p_schedule_id, queued.section, queued.row_label));
      perform set_config('lock_timeout', lock_timeout_before, true);
      if not row_has_free_seats(p_schedule_id, queued, p_quantity, p_seat_type, p_max_price, lapsed) then
        raise exception 'the row filled up' using errcode = 'BA001';
      end if;
    exception when lock_not_available or sqlstate 'BA001' then
      -- the subtransaction's rollback has put lock_timeout back too
      null;
    end;
  end loop;
  -- sold out, as far as this pick can tell: hold_seats asked for no seats holds nothing and
  -- answers with the schedule's sale state and the user's seats, which the caller checks first
  return hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
end
$$;
