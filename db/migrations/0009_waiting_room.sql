-- The waiting room of a big on-sale (API.md "Waiting room"): fans take a position, are admitted in
-- position order at the room's rate, and while the room is on only admitted fans may hold seats.

-- One room per schedule, in a table of its own: the advancer rewrites its checkpoint every minute,
-- and the schedule row is the one every hold reads.
create table waiting_rooms (
  schedule_id bigint primary key references schedules on delete cascade,
  enabled boolean not null,
  admit_per_minute int check (admit_per_minute between 1 and 100000),
  -- The admission checkpoint (domain/waiting-room.ts, `admittedThrough`): positions up to
  -- `admitted_base` were admitted at `checkpoint_at`; from there admission rises by
  -- `admit_per_minute` a minute, never past `admitted_cap`. The advancer writes a new checkpoint
  -- every minute (and an admin's change writes one at once); polls only compute from it.
  admitted_base bigint not null default 0 check (admitted_base >= 0),
  admitted_cap bigint not null default 0,
  checkpoint_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (admitted_cap >= admitted_base),
  check (not enabled or admit_per_minute is not null)
);
-- the advancer's list: the rooms that are on
create index waiting_rooms_enabled on waiting_rooms (schedule_id) where enabled;

create table queue_entries (
  schedule_id bigint not null references schedules on delete cascade,
  user_id bigint not null references users on delete cascade,
  position bigint not null check (position > 0),
  joined_at timestamptz not null default now(),
  -- one position per fan and schedule
  primary key (schedule_id, user_id),
  -- one fan per position; also how the highest position is read (one index entry)
  unique (schedule_id, position)
);

-- Positions come from a sequence of the schedule's own. `nextval` takes no lock that another join
-- waits for, where a counter row would line every join of the on-sale up behind one row lock; and
-- a schedule's numbers are dense and in join order, where one sequence shared by every schedule
-- would leave the numbers other schedules' joins took as holes. `cache 1`: a per-connection cache
-- would hand out blocks of numbers out of join order.
create function queue_sequence(p_schedule_id bigint) returns text
language sql immutable parallel safe
return 'queue_positions_' || p_schedule_id::text;

-- How far the queue reaches: the highest position handed out, 0 before the first join (one entry
-- of the unique index). A hole below it (see join_queue) is counted as a place in the queue.
create function queue_joined(p_schedule_id bigint) returns bigint
language sql stable parallel safe
return coalesce((select max(q.position) from queue_entries q where q.schedule_id = p_schedule_id), 0);

-- Serialises one fan's joins of one schedule (a double click): the second finds the first's
-- position instead of drawing a number the primary key would then throw away, a hole.
create function queue_lock_key(p_user_id bigint, p_schedule_id bigint) returns bigint
language sql immutable parallel safe
return hashtextextended('queue:' || p_user_id::text || ':' || p_schedule_id::text, 0);

-- The application role may create nothing (db/migrate.ts, ensureAppRole), so the two functions
-- that create a schedule's sequence and draw from it run as their owner, the migration role, with
-- a fixed search_path, and do only that. Called when a room is turned on, in the admin's
-- transaction (which holds the room's row: two admins cannot race to create it).
create function open_queue(p_schedule_id bigint) returns void
language plpgsql volatile security definer set search_path = pg_catalog, public
as $$
begin
  execute format('create sequence if not exists public.%I as bigint minvalue 1 cache 1',
                 queue_sequence(p_schedule_id));
end
$$;

-- A fan joins the queue of a schedule: their position, drawn once. One call, one round trip.
-- `outcome`: joined | again (the same position as before) | no_schedule | room_off | not_on_sale.
-- A number drawn by a join that then fails (its transaction rolls back) is a hole: nobody holds
-- that position and admission passes over it; ordinary joins, concurrent or repeated, leave none.
create function join_queue(p_schedule_id bigint, p_user_id bigint) returns json
language plpgsql volatile security definer set search_path = pg_catalog, public
as $$
declare
  on_sale boolean;
  room_on boolean;
  pos bigint;
begin
  select schedule_on_sale(s, c), coalesce(wr.enabled, false)
  into on_sale, room_on
  from schedules s
  join concerts c on c.id = s.concert_id
  left join waiting_rooms wr on wr.schedule_id = s.id
  where s.id = p_schedule_id;
  if not found then
    return json_build_object('outcome', 'no_schedule');
  elsif not room_on then
    return json_build_object('outcome', 'room_off');
  elsif not on_sale then
    return json_build_object('outcome', 'not_on_sale');
  end if;

  perform pg_advisory_xact_lock(queue_lock_key(p_user_id, p_schedule_id));
  -- a fresh snapshot (a volatile function's next statement): sees a join that committed while we waited
  select q.position into pos from queue_entries q
  where q.schedule_id = p_schedule_id and q.user_id = p_user_id;
  if found then
    return json_build_object('outcome', 'again', 'position', pos);
  end if;
  insert into queue_entries (schedule_id, user_id, position)
  values (p_schedule_id, p_user_id, nextval(format('public.%I', queue_sequence(p_schedule_id))::regclass))
  returning position into pos;
  return json_build_object('outcome', 'joined', 'position', pos);
end
$$;
