-- "N best seats" in one call: the whole pick — per-user lock, row claims, the block search, the
-- hold — runs in the database, one round trip instead of a dozen. The wait-list calls it from SQL
-- to make its offers, so its signature and its answer (hold_seats' json) are a contract.
--
-- Picks spread over rows instead of queueing: a pick claims a row with a non-blocking
-- transaction-level advisory lock (row_lock_key, 0005); a row another pick is working in is
-- skipped for the next best. One pick per row at a time is what keeps two picks, each deciding
-- from its own snapshot, from stranding a single seat between their blocks. Seats are locked with
-- SKIP LOCKED: a seat an explicit hold has in flight sends the pick to another block instead of
-- making it wait. So the pick never waits on a lock other picks hold, and cannot time out on one:
-- when every usable row is claimed it sleeps a moment and looks again (claims last one short
-- transaction).

-- Blocks of `p_quantity` adjacent free seats in one row of a schedule, best first: blocks that
-- leave no single free seat beside them before those that do, then by the seats' rank. Free runs
-- are found with gaps-and-islands (consecutive numbers share `number - row_number()`). Seats are
-- numbered 1..n without gaps in each row.
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
  ), runs as (
    select f.grp, min(f.number) as lo, max(f.number) as hi
    from free f group by f.grp
    having count(*) >= p_quantity
  ), blocks as (
    select start, (start - r.lo = 1 or r.hi - (start + p_quantity - 1) = 1) as strands
    from runs r cross join lateral generate_series(r.lo, r.hi - p_quantity + 1) as start
  )
  select array_agg(f.seat_id order by f.number), b.strands
  from blocks b
  join free f on f.number between b.start and b.start + p_quantity - 1
  group by b.start, b.strands
  order by b.strands, sum(f.rank), b.start;
end
$$;

-- Holds one block of a best-available pick, or answers null when a seat of it is gone or has
-- an explicit hold in flight. The seats are locked with SKIP LOCKED, so the pick never waits on
-- them; hold_seats then finds them already locked. A seat locked here for a block that turns
-- out incomplete stays locked until the pick ends (a subtransaction to release it would cost
-- every pick, and make PostgreSQL record the later update of the seats it keeps as a
-- multixact): the pick never waits on a lock after this point, so holding it cannot deadlock,
-- and it delays a rival hold of that seat by one short transaction at most.
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
  held json;
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
  held := hold_seats(p_user_id, p_schedule_id, p_seat_ids, p_ttl_seconds, p_max_seats_per_user, true);
  if held->'order' is null or json_typeof(held->'order') = 'null' then
    return null;
  end if;
  return held;
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
  refusal json;
  venue bigint;
  candidate record;
  block record;
  held json;
  -- rows this pick claimed and found only stranding blocks in, in rank order
  stranding_sections text[];
  stranding_rows text[];
  busy boolean;
  started timestamptz := clock_timestamp();
begin
  -- The schedule, its sale state and the user's seats, under the per-user lock: hold_seats asked
  -- for no seats holds nothing and answers with everything a refusal needs (one home per rule).
  refusal := hold_seats(p_user_id, p_schedule_id, '{}', p_ttl_seconds, p_max_seats_per_user, true);
  if p_quantity < 1
     or coalesce((refusal->'schedule'->>'onSale')::boolean, false) is not true
     or (refusal->>'owned')::int + p_quantity > p_max_seats_per_user then
    return refusal;
  end if;
  select s.venue_id into venue from schedules s where s.id = p_schedule_id;

  loop
    busy := false;
    stranding_sections := '{}';
    stranding_rows := '{}';
    -- rows that could hold the block at all, best first
    for candidate in
      select seat.section, seat.row_label
      from schedule_seats ss join seats seat on seat.id = ss.seat_id
      where ss.schedule_id = p_schedule_id and seat_is_free(ss)
        and (p_section is null or seat.section = p_section)
        and (p_seat_type is null or seat.seat_type = p_seat_type)
        and (p_max_price is null or ss.price <= p_max_price)
      group by seat.section, seat.row_label
      having count(*) >= p_quantity
      order by min(seat.rank), seat.section, seat.row_label
    loop
      if not pg_try_advisory_xact_lock(row_lock_key(p_schedule_id, candidate.section, candidate.row_label)) then
        busy := true;
        continue;
      end if;
      -- the row is ours: a fresh look (a pick that worked here before has committed)
      for block in
        select * from row_free_blocks(p_schedule_id, venue, candidate.section, candidate.row_label,
                                      p_quantity, p_seat_type, p_max_price)
      loop
        if block.strands then
          -- a better row may offer a block that strands nothing: come back only if none does
          stranding_sections := stranding_sections || candidate.section;
          stranding_rows := stranding_rows || candidate.row_label;
          exit;
        end if;
        held := hold_locked_block(p_user_id, p_schedule_id, block.seat_ids, p_ttl_seconds, p_max_seats_per_user);
        if held is not null then
          return held;
        end if;
      end loop;
    end loop;

    -- no claimed row offers a block that strands nothing: the best one that does
    for i in 1 .. cardinality(stranding_rows) loop
      for block in
        select * from row_free_blocks(p_schedule_id, venue, stranding_sections[i], stranding_rows[i],
                                      p_quantity, p_seat_type, p_max_price)
      loop
        held := hold_locked_block(p_user_id, p_schedule_id, block.seat_ids, p_ttl_seconds, p_max_seats_per_user);
        if held is not null then
          return held;
        end if;
      end loop;
    end loop;

    -- nothing left anywhere (a real sell-out ends at once), or every usable row was busy with a
    -- pick that holds its claim for one short transaction: look again in a moment, well within
    -- the statement timeout
    exit when not busy or clock_timestamp() - started > interval '5 seconds';
    perform pg_sleep(0.001 + random() * 0.004);
  end loop;
  return refusal;
end
$$;
