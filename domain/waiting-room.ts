import { type Db, inTx, type Tx } from '../db/client';
import * as rooms from '../db/waiting-room';
import { AppError, notFound } from './errors';

/**
 * The waiting room of a big on-sale (API.md "Waiting room"). Fans join and get a position; they
 * are admitted strictly in position order at the room's rate, and not at all while nothing is
 * available. Admission is computed, never counted up by polls: a checkpoint (admitted through
 * `base` at `checkpointAt`, never past `cap`) plus the rate give `admittedThrough` at any moment, so
 * a poll is arithmetic on a few columns a container caches for a second. The advancer
 * (`advanceWaitingRooms`, every minute) writes the next checkpoint: it moves the base to what the
 * last one admitted, stops admission when no seat is available, and caps what the next may admit
 * by the seats available — never past sell-out.
 */

export interface WaitingRoomInput {
  enabled: boolean;
  /** Required the first time a room is turned on; kept when left out. */
  admitPerMinute?: number;
}

/** What a poll computes from: the room's checkpoint and how the show stands, as last read. */
export interface AdmissionState {
  scheduleId: number;
  enabled: boolean;
  admitPerMinute: number | null;
  base: number;
  cap: number;
  checkpointAt: Date;
  /** The highest position handed out. */
  joined: number;
  /** No seat is available: admission stands still. */
  soldOut: boolean;
  /** When it was read: a container's copy is up to a second old. */
  readAt: Date;
}

/** A room's checkpoint and how the show stands, however it was come by. */
type RoomState = Omit<AdmissionState, 'readAt'>;

/**
 * How far a checkpoint may run ahead: two minutes of admission, so that an advancer run that comes
 * a little late (or once fails) does not stall the room; the rate alone sets the pace.
 */
const HORIZON_MINUTES = 2;

/**
 * The last position admitted at `now`. Off: everyone who joined (orders need no admission then).
 * Sold out: what the checkpoint had admitted before this minute; nobody more until seats are
 * available again. Otherwise the base plus the rate since the checkpoint, up to its cap and to the
 * queue's end (admission is not banked for fans who have not joined yet).
 */
export function admittedThrough(s: RoomState, now: Date): number {
  if (!s.enabled) return s.joined;
  if (s.soldOut) return Math.min(s.base, s.joined);
  const minutes = Math.max(0, now.getTime() - s.checkpointAt.getTime()) / 60_000;
  return Math.min(s.joined, s.cap, s.base + Math.floor((s.admitPerMinute ?? 0) * minutes));
}

/** The next checkpoint at `now`, given the seats available now (counted up to `seatsToCount`). */
export function nextCheckpoint(
  s: RoomState,
  availableSeats: number,
  now: Date,
): { base: number; cap: number } {
  const base = admittedThrough({ ...s, enabled: true, soldOut: availableSeats === 0 }, now);
  return checkpointFrom(base, s.admitPerMinute, availableSeats);
}

/**
 * A checkpoint starting at `base`: it may admit a horizon's worth, and never more fans than seats
 * are available (each admitted fan takes one at least: more would be admitted in vain).
 */
function checkpointFrom(base: number, admitPerMinute: number | null, availableSeats: number) {
  return { base, cap: base + Math.min(seatsToCount(admitPerMinute), availableSeats) };
}

/** How many available seats a checkpoint needs to know of. */
const seatsToCount = (admitPerMinute: number | null) => (admitPerMinute ?? 0) * HORIZON_MINUTES;

export interface QueueStatus {
  position: number;
  admittedThrough: number;
  estimatedWaitSeconds: number;
  soldOut: boolean;
  admitted: boolean;
}

/** Where a fan at `position` stands at `now`. */
export function queueStatus(s: AdmissionState, position: number, now: Date): QueueStatus {
  const admitted = admittedThrough({ ...s, joined: queueReach(s, position, now) }, now);
  return {
    position,
    admittedThrough: admitted,
    estimatedWaitSeconds: waitSeconds(s, position, admitted),
    soldOut: s.enabled && s.soldOut,
    // While the room is off no admission is needed, so none is handed out: one minted then would
    // still let its holder in, out of order, once the room is on again.
    admitted: s.enabled && position <= admitted,
  };
}

/**
 * How far the queue reaches, as a fan at `position` polling at `now` can tell. The fan's own
 * position proves the queue reaches it, so a state read before the fan joined (a container's, up
 * to a second old) need not keep a fan the rate admits waiting for the next poll. But such a state
 * may hold a checkpoint the advancer has since replaced, dropping the admission nobody had joined
 * to use: fans who joined after the read count only as fast as the rate has run since it, the
 * fan it is running for included (rounded up: the first fan to join after a read is not kept a
 * poll longer because less than a whole fan's worth of the rate has passed). A state a second old
 * then admits at most a second of the rate, and one fan, beyond a fresh one — the staleness any
 * cached state has — never a stale checkpoint's unused minute.
 */
function queueReach(s: AdmissionState, position: number, now: Date): number {
  const sinceRead = Math.max(0, now.getTime() - s.readAt.getTime()) / 60_000;
  return Math.max(s.joined, Math.min(position, s.joined + Math.ceil((s.admitPerMinute ?? 0) * sinceRead)));
}

/** At the room's rate, from where admission stands; 0 once admitted. */
function waitSeconds(s: AdmissionState, position: number, admitted: number): number {
  if (!s.enabled || position <= admitted || !s.admitPerMinute) return 0;
  return Math.ceil(((position - admitted) * 60) / s.admitPerMinute);
}

const toState = (row: rooms.RoomRow & { seatAvailable: boolean }, readAt: Date): AdmissionState => {
  const { seatAvailable, ...room } = row;
  return { ...room, soldOut: !seatAvailable, readAt };
};

/**
 * The room of a schedule as it stands at `now` (a schedule without one: off). Undefined: no such
 * schedule.
 */
export async function readAdmissionState(
  db: Db,
  scheduleId: number,
  now: Date,
): Promise<AdmissionState | undefined> {
  const row = await rooms.readRoom(db, scheduleId);
  return row && toState(row, now);
}

/** A container's copy of a room: when its read started, and whether the next one is under way. */
interface Entry {
  readAt: number;
  state: Promise<AdmissionState | undefined>;
  refreshing?: boolean;
}

/**
 * Admission states cached per container for at most `ttlMs`: a container answers the polls and the
 * order checks of a second with one read per schedule, however many fans ask. Concurrent misses
 * share one read; a failed read is not kept. Past half its life a copy still answers at once while
 * the next read runs in the background, so a steady stream of polls never waits for the database
 * (the poll that found the copy expired used to carry every second's read in its own latency).
 */
export class AdmissionStates {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly ttlMs = 1000,
    private readonly maxEntries = 10_000,
  ) {}

  get(db: Db, scheduleId: number, now: Date): Promise<AdmissionState | undefined> {
    const cached = this.entries.get(scheduleId);
    const age = cached ? now.getTime() - cached.readAt : Number.POSITIVE_INFINITY;
    if (cached && age < this.ttlMs) {
      if (age >= this.ttlMs / 2 && !cached.refreshing) this.refresh(db, scheduleId, cached, now);
      return cached.state;
    }
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const entry: Entry = { readAt: now.getTime(), state: readAdmissionState(db, scheduleId, now) };
    this.entries.set(scheduleId, entry);
    entry.state.catch(() => {
      if (this.entries.get(scheduleId) === entry) this.entries.delete(scheduleId);
    });
    return entry.state;
  }

  /** The next copy, in place of `stale` once read (a failed read leaves `stale` to expire). */
  private refresh(db: Db, scheduleId: number, stale: Entry, now: Date): void {
    stale.refreshing = true;
    readAdmissionState(db, scheduleId, now).then(
      (state) => {
        if (this.entries.get(scheduleId) === stale)
          this.entries.set(scheduleId, { readAt: now.getTime(), state: Promise.resolve(state) });
      },
      () => {
        stale.refreshing = false;
      },
    );
  }

  forget(): void {
    this.entries.clear();
  }
}

/** What an administrator sees of a schedule's room. */
export async function waitingRoomView(db: Db, scheduleId: number, now: Date) {
  const s = await readAdmissionState(db, scheduleId, now);
  if (!s) throw notFound('Schedule', scheduleId);
  return {
    enabled: s.enabled,
    admitPerMinute: s.admitPerMinute,
    joined: s.joined,
    admittedThrough: admittedThrough(s, now),
  };
}

/**
 * Turns a schedule's room on or off, or changes its rate, in the caller's transaction. What was
 * admitted stays admitted: the new checkpoint starts where the old one stood at `now`, and a new
 * rate counts from there. Turning a room on creates its queue's position sequence.
 */
export async function configureWaitingRoom(
  tx: Tx,
  scheduleId: number,
  input: WaitingRoomInput,
  now: Date,
): Promise<void> {
  const [room] = await rooms.lockRooms(tx, { scheduleId }, (stored) =>
    seatsToCount(input.admitPerMinute ?? stored),
  );
  if (!room) throw notFound('Schedule', scheduleId);
  const admitPerMinute = input.admitPerMinute ?? room.admitPerMinute;
  if (input.enabled && admitPerMinute === null) {
    throw new AppError('VALIDATION_FAILED', 'admitPerMinute is required to turn a waiting room on', {
      errors: [{ field: 'body.waitingRoom.admitPerMinute', message: 'required to turn the room on' }],
    });
  }
  // a room that was off admitted nobody new: it starts again from its last base
  const from = room.enabled
    ? admittedThrough({ ...room, soldOut: room.availableSeats === 0 }, now)
    : Math.min(room.base, room.joined);
  const next = checkpointFrom(from, admitPerMinute, room.availableSeats);
  if (input.enabled) await rooms.openQueue(tx, scheduleId);
  await rooms.saveRooms(tx, [
    { scheduleId, enabled: input.enabled, admitPerMinute, ...next, checkpointAt: now },
  ]);
}

/**
 * The advancer: a new checkpoint for every room that is on, of a schedule on sale. Run every minute
 * (functions/waiting-room-advancer.ts); running it more often changes nothing but how soon a
 * sell-out or returned seats are seen.
 */
export async function advanceWaitingRooms(db: Db, now: Date): Promise<{ rooms: number; soldOut: number }> {
  return inTx(db, async (tx) => {
    const locked = await rooms.lockRooms(tx, 'on sale', seatsToCount);
    const changes = locked.map((room) => ({
      ...room,
      ...nextCheckpoint({ ...room, soldOut: room.availableSeats === 0 }, room.availableSeats, now),
      checkpointAt: now,
    }));
    await rooms.saveRooms(tx, changes);
    return { rooms: locked.length, soldOut: locked.filter((r) => r.availableSeats === 0).length };
  });
}

export type Joined = { position: number; again: boolean };

/** The fan's place in the queue: a new position, or the one they had. */
export async function joinQueue(db: Db, scheduleId: number, userId: number): Promise<Joined> {
  const result = await rooms.joinQueue(db, scheduleId, userId);
  switch (result.outcome) {
    case 'joined':
    case 'again':
      return { position: result.position, again: result.outcome === 'again' };
    case 'no_schedule':
      throw notFound('Schedule', scheduleId);
    case 'room_off':
      throw new AppError('WAITING_ROOM_OFF', 'This schedule has no waiting room on: order directly');
    case 'not_on_sale':
      throw new AppError('SALES_CLOSED', 'This schedule is not on sale');
  }
}
