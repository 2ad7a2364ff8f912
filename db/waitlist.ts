import type { Db, Tx } from './client';
import type { ScheduleStatus, WaitlistStatus } from './vocabulary';

/**
 * The cancellation wait-list: `waitlists` (the switch per schedule), `waitlist_entries` and the
 * offers `serve_waitlist` makes (db/migrations/0013_waitlist.sql says why they cannot be lost or
 * made twice).
 */

export interface WaitlistEntryView {
  id: number;
  scheduleId: number;
  quantity: number;
  section: string | null;
  seatType: string | null;
  maxPrice: string | null;
  status: WaitlistStatus;
  /** Among the schedule's waiting entries, 1 = served first; null once the entry is not waiting. */
  position: number | null;
  /** The offer, once there is one. */
  orderId: number | null;
  createdAt: Date;
}

const entryView = (db: Db) => db`
  e.id, e.schedule_id as "scheduleId", e.quantity, e.section, e.seat_type as "seatType",
  e.max_price::text as "maxPrice", waitlist_entry_status(e, s) as status, e.order_id as "orderId",
  e.created_at as "createdAt",
  case when waitlist_entry_status(e, s) = 'waiting' then (
    select count(*)::int from waitlist_entries w
    where w.schedule_id = e.schedule_id and w.status = 'waiting' and w.id <= e.id
  ) end as position
`;

/** Serialises one schedule's joins and offers (held until the transaction ends). */
export async function lockWaitlist(tx: Tx, scheduleId: number): Promise<void> {
  await tx`select pg_advisory_xact_lock(waitlist_lock_key(${scheduleId})) is null as locked`;
}

export interface WaitlistSchedule {
  status: ScheduleStatus;
  started: boolean;
  /** The concert is active (an inactive one's schedules are hidden and sell nothing). */
  concertActive: boolean;
  enabled: boolean;
}

export async function waitlistSchedule(db: Db, scheduleId: number): Promise<WaitlistSchedule | undefined> {
  const [row] = await db<WaitlistSchedule[]>`
    select s.status, s.start_at <= now() as started, c.is_active as "concertActive",
           coalesce(w.enabled, false) as enabled
    from schedules s join concerts c on c.id = s.concert_id
    left join waitlists w on w.schedule_id = s.id
    where s.id = ${scheduleId}
  `;
  return row;
}

/** The user's live entry (waiting or offered) in the schedule, if any. */
export async function liveEntryOf(tx: Tx, userId: number, scheduleId: number): Promise<number | undefined> {
  const [row] = await tx<{ id: number }[]>`
    select id from waitlist_entries
    where user_id = ${userId} and schedule_id = ${scheduleId} and status in ('waiting', 'offered')
  `;
  return row?.id;
}

export interface EntryInput {
  userId: number;
  scheduleId: number;
  quantity: number;
  section?: string;
  seatType?: string;
  maxPrice?: number;
}

export async function insertEntry(tx: Tx, input: EntryInput): Promise<number> {
  const [row] = await tx<{ id: number }[]>`
    insert into waitlist_entries (schedule_id, user_id, quantity, section, seat_type, max_price)
    values (${input.scheduleId}, ${input.userId}, ${input.quantity}, ${input.section ?? null},
            ${input.seatType ?? null}, ${input.maxPrice ?? null})
    returning id
  `;
  return row!.id;
}

export async function findEntry(
  db: Db,
  id: number,
): Promise<(WaitlistEntryView & { userId: number }) | undefined> {
  const [row] = await db<(WaitlistEntryView & { userId: number })[]>`
    select ${entryView(db)}, e.user_id as "userId"
    from waitlist_entries e join schedules s on s.id = e.schedule_id
    where e.id = ${id}
  `;
  return row;
}

export async function entriesOfUser(
  db: Db,
  userId: number,
  limit: number,
  beforeId?: number,
): Promise<WaitlistEntryView[]> {
  return db<WaitlistEntryView[]>`
    select ${entryView(db)}
    from waitlist_entries e join schedules s on s.id = e.schedule_id
    where e.user_id = ${userId} ${beforeId ? db`and e.id < ${beforeId}` : db``}
    order by e.id desc
    limit ${limit + 1}
  `;
}

/** A waiting entry leaves; false when it was not waiting (offered meanwhile, or gone). */
export async function leaveEntry(tx: Tx, id: number): Promise<boolean> {
  const result = await tx`
    update waitlist_entries set status = 'left', updated_at = now() where id = ${id} and status = 'waiting'
  `;
  return result.count > 0;
}

/** Waiting entries of a cancelled schedule are closed (its offers close with their orders). */
export async function closeWaitingEntries(db: Db, scheduleId: number): Promise<void> {
  await db`
    update waitlist_entries set status = 'closed', updated_at = now()
    where schedule_id = ${scheduleId} and status = 'waiting'
  `;
}

/** Turns a schedule's wait-list on or off; turning it on makes it due (seats may be on sale). */
export async function setWaitlistEnabled(tx: Tx, scheduleId: number, enabled: boolean): Promise<void> {
  await tx`
    insert into waitlists (schedule_id, enabled) values (${scheduleId}, ${enabled})
    on conflict (schedule_id) do update set enabled = excluded.enabled, updated_at = now()
  `;
  if (enabled) await tx`select note_seats_freed(${[scheduleId]}::bigint[])`;
}

export async function waitlistEnabled(db: Db, scheduleId: number): Promise<boolean> {
  const [row] = await db<{ enabled: boolean }[]>`
    select coalesce((select enabled from waitlists where schedule_id = ${scheduleId}), false) as enabled
  `;
  return row!.enabled;
}

/**
 * Offers the schedule's free seats to its waiting entries, in entry order (`serve_waitlist`).
 * Called in a transaction of its own or one that took the wait-list lock before any other.
 */
export async function serveWaitlist(
  db: Db,
  scheduleId: number,
  offerTtlSeconds: number,
  maxSeatsPerUser: number,
): Promise<number> {
  const [row] = await db<{ offers: number }[]>`
    select serve_waitlist(${scheduleId}, ${offerTtlSeconds}, ${maxSeatsPerUser}) as offers
  `;
  return row!.offers;
}

/** Schedules with seats freed since their wait-list last looked. */
export async function dueSchedules(db: Db, limit: number): Promise<number[]> {
  const rows = await db<{ scheduleId: number }[]>`
    select distinct schedule_id as "scheduleId" from waitlist_due order by 1 limit ${limit}
  `;
  return rows.map((r) => r.scheduleId);
}

/** Whether the schedule has seats its wait-list has not looked at yet. */
export async function isDue(db: Db, scheduleId: number): Promise<boolean> {
  const [row] = await db<{ due: boolean }[]>`
    select exists (select 1 from waitlist_due where schedule_id = ${scheduleId}) as due
  `;
  return row!.due;
}
