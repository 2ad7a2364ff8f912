import type { Db } from './client';
import type { ScheduleStatus } from './vocabulary';

/** Concerts, venues with their seat maps, and schedules. */

const concertColumns = (db: Db) => db`
  c.id, c.title, c.artist, c.genre, c.description, c.runtime_minutes as "runtimeMinutes"
`;

export interface ConcertRow {
  id: number;
  title: string;
  artist: string;
  genre: string | null;
  description: string | null;
  runtimeMinutes: number | null;
  isActive?: boolean;
}

export interface ConcertFilter {
  genre?: string;
  artist?: string;
  q?: string;
  afterId?: number;
  limit: number;
}

/** `%` and `_` in a search term are literal characters, not wildcards. */
const likePattern = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listActiveConcerts(db: Db, f: ConcertFilter): Promise<ConcertRow[]> {
  return db<ConcertRow[]>`
    select ${concertColumns(db)}
    from concerts c
    where c.is_active
      ${f.genre ? db`and c.genre = ${f.genre}` : db``}
      ${f.artist ? db`and c.artist = ${f.artist}` : db``}
      ${f.q ? db`and (c.title ilike ${likePattern(f.q)} or c.artist ilike ${likePattern(f.q)} or c.description ilike ${likePattern(f.q)})` : db``}
      ${f.afterId ? db`and c.id > ${f.afterId}` : db``}
    order by c.id
    limit ${f.limit + 1}
  `;
}

export async function findConcert(
  db: Db,
  id: number,
  { activeOnly }: { activeOnly: boolean },
): Promise<ConcertRow | undefined> {
  const [row] = await db<ConcertRow[]>`
    select ${concertColumns(db)}, c.is_active as "isActive"
    from concerts c
    where c.id = ${id} ${activeOnly ? db`and c.is_active` : db``}
  `;
  return row;
}

export interface ConcertFields {
  title?: string;
  artist?: string;
  genre?: string | null;
  description?: string | null;
  runtimeMinutes?: number | null;
  isActive?: boolean;
}

const concertDbColumns: Record<keyof ConcertFields, string> = {
  title: 'title',
  artist: 'artist',
  genre: 'genre',
  description: 'description',
  runtimeMinutes: 'runtime_minutes',
  isActive: 'is_active',
};

function toColumns(fields: ConcertFields): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [concertDbColumns[k as keyof ConcertFields], v]),
  );
}

export async function insertConcert(db: Db, fields: ConcertFields): Promise<ConcertRow> {
  const columns = toColumns(fields);
  const [row] = await db<ConcertRow[]>`
    insert into concerts ${db(columns)}
    returning id, title, artist, genre, description, runtime_minutes as "runtimeMinutes", is_active as "isActive"
  `;
  return row!;
}

export async function updateConcert(
  db: Db,
  id: number,
  fields: ConcertFields,
): Promise<ConcertRow | undefined> {
  const columns = { ...toColumns(fields), updated_at: new Date() };
  const [row] = await db<ConcertRow[]>`
    update concerts set ${db(columns)}
    where id = ${id}
    returning id, title, artist, genre, description, runtime_minutes as "runtimeMinutes", is_active as "isActive"
  `;
  return row;
}

export interface RowSpec {
  section: string;
  rowLabel: string;
  seats: number;
  seatType: string;
  basePrice: number;
  /** Position of the row in "best first" order, 0 = best. */
  rowRank: number;
}

/**
 * Layout order — the order of a venue's layout, of a schedule's seat status bits and of the seat
 * maps' pages — is seat id order: `insertVenueWithSeats` numbers a venue's seats in drawing order
 * (sections by rank, rows as given, seat numbers ascending). `seatId` names the query's seat id.
 */
export const layoutOrder = (db: Db, seatId: 'seat.id' | 'ss.seat_id') => db`${db(seatId)}`;

/**
 * Creates the venue and all its seats in two statements, whatever the size: rows go to the
 * server as arrays and `generate_series` expands each into its seats, inserted in drawing order so
 * that their ids follow it (layout order). A seat's rank is its row's rank first, then its distance
 * from the row's centre — "best first" for best-available picks.
 */
export async function insertVenueWithSeats(
  db: Db,
  venue: { name: string; address: string | null },
  rows: RowSpec[],
): Promise<{ id: number; name: string; address: string | null; seatCount: number }> {
  const [created] = await db<{ id: number; name: string; address: string | null }[]>`
    insert into venues (name, address) values (${venue.name}, ${venue.address}) returning id, name, address
  `;
  const result = await db`
    insert into seats (venue_id, section, row_label, number, seat_type, base_price, rank)
    select ${created!.id}, r.section, r.row_label, n, r.seat_type, r.base_price,
           r.row_rank * 10000 + floor(abs(n - (r.seats + 1) / 2.0) * 2)::int
    from unnest(
      ${rows.map((r) => r.section)}::text[],
      ${rows.map((r) => r.rowLabel)}::text[],
      ${rows.map((r) => r.seats)}::int[],
      ${rows.map((r) => r.seatType)}::text[],
      ${rows.map((r) => r.basePrice)}::numeric[],
      ${rows.map((r) => r.rowRank)}::int[]
    ) with ordinality as r(section, row_label, seats, seat_type, base_price, row_rank, position)
    cross join lateral generate_series(1, r.seats) as n
    order by r.position, n
  `;
  return { ...created!, seatCount: result.count };
}

/** The version of the venue's seats (bumped when they change), or undefined: no such venue. */
export async function venueLayoutVersion(db: Db, venueId: number): Promise<number | undefined> {
  const [venue] = await db<{ version: number }[]>`
    select seat_map_version as version from venues where id = ${venueId}`;
  return venue?.version;
}

export interface LayoutRun {
  section: string;
  rowLabel: string;
  seatType: string;
  firstNumber: number;
  count: number;
  firstSeatId: number;
}

/**
 * The venue's seats in layout order as runs: seats of one section, row and type whose numbers and
 * ids both go up by one. A row made by `insertVenueWithSeats` is one run, a 100,000-seat venue a
 * thousand rows, not 100,000 seats. Runs are found with gaps-and-islands: a seat that does not
 * continue the seat before it starts a run.
 */
export async function venueLayoutRuns(db: Db, venueId: number): Promise<LayoutRun[]> {
  return db<LayoutRun[]>`
    with seats_in_order as (
      select seat.id, seat.section, seat.row_label, seat.number, seat.seat_type,
             case when lag(seat.id) over w = seat.id - 1 and lag(seat.number) over w = seat.number - 1
                   and lag(seat.section) over w = seat.section and lag(seat.row_label) over w = seat.row_label
                   and lag(seat.seat_type) over w = seat.seat_type
                  then 0 else 1 end as starts_run
      from seats seat
      where seat.venue_id = ${venueId}
      window w as (order by ${layoutOrder(db, 'seat.id')})
    ), runs as (
      select *, sum(starts_run) over (order by id) as run from seats_in_order
    )
    select section, row_label as "rowLabel", seat_type as "seatType", min(number) as "firstNumber",
           count(*)::int as count, min(id) as "firstSeatId"
    from runs
    group by run, section, row_label, seat_type
    order by run
  `;
}

export async function venueSeatTypes(db: Db, venueId: number): Promise<string[] | undefined> {
  const [venue] = await db<{ types: string[] | null }[]>`
    select (select array_agg(distinct seat_type) from seats where venue_id = v.id) as types
    from venues v where v.id = ${venueId}
  `;
  return venue ? (venue.types ?? []) : undefined;
}

export interface ScheduleRow {
  id: number;
  concertId: number;
  venueId: number;
  startAt: Date;
  endAt: Date;
  status: ScheduleStatus;
  singleSeatRule: boolean;
}

const scheduleColumns = (db: Db) => db`
  s.id, s.concert_id as "concertId", s.venue_id as "venueId", s.start_at as "startAt", s.end_at as "endAt",
  s.status, s.single_seat_rule as "singleSeatRule"
`;

/** Creates the schedule and puts every seat of the venue on sale, set-based, in one statement. */
export async function insertScheduleWithSeats(
  db: Db,
  input: {
    concertId: number;
    venueId: number;
    startAt: string;
    endAt: string;
    prices: Record<string, number>;
    singleSeatRule: boolean;
  },
): Promise<ScheduleRow & { seatCount: number }> {
  const [row] = await db<(ScheduleRow & { seatCount: number })[]>`
    with s as (
      insert into schedules (concert_id, venue_id, start_at, end_at, single_seat_rule)
      values (${input.concertId}, ${input.venueId}, ${input.startAt}, ${input.endAt}, ${input.singleSeatRule})
      returning *
    ), seats_on_sale as (
      insert into schedule_seats (schedule_id, seat_id, price)
      select s.id, seat.id, coalesce((${db.json(input.prices)}::jsonb ->> seat.seat_type)::numeric, seat.base_price)
      from s join seats seat on seat.venue_id = s.venue_id
      returning 1
    )
    select ${scheduleColumns(db)}, (select count(*) from seats_on_sale)::int as "seatCount"
    from s
  `;
  return row!;
}

export async function findSchedule(db: Db, id: number): Promise<ScheduleRow | undefined> {
  const [row] = await db<ScheduleRow[]>`select ${scheduleColumns(db)} from schedules s where s.id = ${id}`;
  return row;
}

export async function scheduleSeatCount(db: Db, id: number): Promise<number> {
  const [row] = await db<
    { n: number }[]
  >`select count(*)::int as n from schedule_seats where schedule_id = ${id}`;
  return row!.n;
}

/**
 * Changes the status unless it is already `status` or the schedule is cancelled (cancelling is
 * final). The guard is in the statement: a change waiting behind a concurrent cancel sees the
 * cancel once it commits, where a read-then-write would reopen the cancelled schedule.
 * Returns the schedule when it changed.
 */
export async function setScheduleStatus(
  db: Db,
  id: number,
  status: ScheduleStatus,
): Promise<ScheduleRow | undefined> {
  const [row] = await db<ScheduleRow[]>`
    update schedules s set status = ${status}, updated_at = now()
    where s.id = ${id} and s.status <> ${status} and s.status <> 'cancelled'
    returning ${scheduleColumns(db)}
  `;
  return row;
}

export async function schedulesOfConcert(db: Db, concertId: number) {
  return db<
    { id: number; venue: { id: number; name: string }; startAt: Date; endAt: Date; status: ScheduleStatus }[]
  >`
    select s.id, json_build_object('id', v.id, 'name', v.name) as venue, s.start_at as "startAt", s.end_at as "endAt", s.status
    from schedules s join venues v on v.id = s.venue_id
    where s.concert_id = ${concertId}
    order by s.start_at, s.id
  `;
}

/** A schedule as the public sees it: only while its concert is active. */
export async function findPublicSchedule(db: Db, id: number) {
  const [row] = await db`
    select s.id, s.start_at as "startAt", s.end_at as "endAt", s.status,
           json_build_object('id', c.id, 'title', c.title, 'artist', c.artist, 'genre', c.genre,
                             'description', c.description, 'runtimeMinutes', c.runtime_minutes) as concert,
           json_build_object('id', v.id, 'name', v.name, 'address', v.address) as venue,
           json_build_object('enabled', coalesce(wr.enabled, false)) as "waitingRoom",
           json_build_object('enabled', coalesce(wl.enabled, false)) as waitlist
    from schedules s
    join concerts c on c.id = s.concert_id and c.is_active
    join venues v on v.id = s.venue_id
    left join waiting_rooms wr on wr.schedule_id = s.id
    left join waitlists wl on wl.schedule_id = s.id
    where s.id = ${id}
  `;
  return row;
}
