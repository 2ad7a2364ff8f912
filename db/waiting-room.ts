import type { Db, Tx } from './client';

/** Waiting rooms (0009): a room per schedule, its admission checkpoint, and the queue. */

export interface RoomRow {
  scheduleId: number;
  enabled: boolean;
  admitPerMinute: number | null;
  base: number;
  cap: number;
  checkpointAt: Date;
  /** The highest position handed out (0 before the first join). */
  joined: number;
}

/**
 * What a poll needs, in one statement: the room (none: off), the highest position, and whether any
 * seat is available — a seat whose status is `available`, an index probe. A lapsed hold counts from
 * when the sweeper frees it (within a minute), the way the advancer counts it; `seat_is_free` would
 * walk every held seat of a sold-out show on every refresh of every container.
 * Undefined for an unknown schedule.
 */
export async function readRoom(
  db: Db,
  scheduleId: number,
): Promise<(RoomRow & { seatAvailable: boolean }) | undefined> {
  const [row] = await db<(RoomRow & { seatAvailable: boolean })[]>`
    select s.id as "scheduleId", coalesce(wr.enabled, false) as enabled,
           wr.admit_per_minute as "admitPerMinute", coalesce(wr.admitted_base, 0) as base,
           coalesce(wr.admitted_cap, 0) as cap, coalesce(wr.checkpoint_at, now()) as "checkpointAt",
           queue_joined(s.id) as joined,
           case when wr.enabled
                then exists (select 1 from schedule_seats ss where ss.schedule_id = s.id and ss.status = 'available')
                else true end as "seatAvailable"
    from schedules s left join waiting_rooms wr on wr.schedule_id = s.id
    where s.id = ${scheduleId}
  `;
  return row;
}

/** A room and what its next checkpoint depends on, locked until the caller's transaction ends. */
export interface LockedRoom extends RoomRow {
  /** Seats available now, counted up to `countUpTo` (no checkpoint admits more than that). */
  availableSeats: number;
}

/**
 * The rooms to advance — every room that is on — or one room by id (created off
 * if the schedule has none; none for an unknown schedule), locked: an admin's change and an advancer run are applied one after the
 * other. Polls and joins never lock a room.
 */
export async function lockRooms(
  tx: Tx,
  which: { scheduleId: number } | 'on sale',
  countUpTo: (admitPerMinute: number | null) => number,
): Promise<LockedRoom[]> {
  if (which !== 'on sale') {
    await tx`
      insert into waiting_rooms (schedule_id, enabled)
      select s.id, false from schedules s where s.id = ${which.scheduleId}
      on conflict do nothing`;
  }
  const rows = await tx<(RoomRow & { onSale: boolean })[]>`
    select wr.schedule_id as "scheduleId", wr.enabled, wr.admit_per_minute as "admitPerMinute",
           wr.admitted_base as base, wr.admitted_cap as cap, wr.checkpoint_at as "checkpointAt",
           queue_joined(wr.schedule_id) as joined, schedule_on_sale(s, c) as "onSale"
    from waiting_rooms wr join schedules s on s.id = wr.schedule_id join concerts c on c.id = s.concert_id
    ${which === 'on sale' ? tx`where wr.enabled` : tx`where wr.schedule_id = ${which.scheduleId}`}
    order by wr.schedule_id
    for update of wr
  `;
  if (rows.length === 0) return [];
  // A room whose schedule is not on sale (not open yet, closed, cancelled, started) is advanced as
  // having no seat: it admits nobody, and its checkpoint stays fresh, so that reopening the sale
  // does not release a backlog of "minutes since the checkpoint" at once.
  const offSale = new Set(rows.filter((r) => !r.onSale).map((r) => r.scheduleId));
  const rooms: RoomRow[] = rows.map(({ onSale: _, ...room }) => room);
  const limits = rooms.map((r) => countUpTo(r.admitPerMinute));
  const counts = await tx<{ scheduleId: number; available: number }[]>`
    select r.schedule_id as "scheduleId",
           (select count(*)::int from (
              select 1 from schedule_seats ss
              where ss.schedule_id = r.schedule_id and ss.status = 'available'
              limit r.up_to) available) as available
    from unnest(${rooms.map((r) => r.scheduleId)}::bigint[], ${limits}::int[]) as r(schedule_id, up_to)
  `;
  const available = new Map(counts.map((c) => [c.scheduleId, c.available]));
  return rooms.map((r) => ({
    ...r,
    availableSeats: offSale.has(r.scheduleId) ? 0 : (available.get(r.scheduleId) ?? 0),
  }));
}

export interface RoomChange {
  scheduleId: number;
  enabled: boolean;
  admitPerMinute: number | null;
  base: number;
  cap: number;
  checkpointAt: Date;
}

/** Writes rooms locked by `lockRooms`, set-based. */
export async function saveRooms(tx: Tx, changes: RoomChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx`
    update waiting_rooms wr
    set enabled = c.enabled, admit_per_minute = c.admit_per_minute, admitted_base = c.base,
        admitted_cap = c.cap, checkpoint_at = c.checkpoint_at, updated_at = now()
    from jsonb_to_recordset(${tx.json(
      changes.map((c) => ({
        schedule_id: c.scheduleId,
        enabled: c.enabled,
        admit_per_minute: c.admitPerMinute,
        base: c.base,
        cap: c.cap,
        checkpoint_at: c.checkpointAt.toISOString(),
      })),
    )}) as c(schedule_id bigint, enabled boolean, admit_per_minute int, base bigint, cap bigint, checkpoint_at timestamptz)
    where wr.schedule_id = c.schedule_id
  `;
}

/** Creates the schedule's position sequence if it has none (0009, `open_queue`). */
export async function openQueue(tx: Tx, scheduleId: number): Promise<void> {
  await tx`select open_queue(${scheduleId})`;
}

export type JoinOutcome =
  | { outcome: 'joined' | 'again'; position: number }
  | { outcome: 'no_schedule' | 'room_off' | 'not_on_sale' };

/** The fan's position in the schedule's queue, drawn once (0009, `join_queue`). */
export async function joinQueue(db: Db, scheduleId: number, userId: number): Promise<JoinOutcome> {
  const [row] = await db<{ result: JoinOutcome }[]>`select join_queue(${scheduleId}, ${userId}) as result`;
  return row!.result;
}
