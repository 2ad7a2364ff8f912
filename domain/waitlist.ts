import { type Db, inTx, type Tx } from '../db/client';
import * as orders from '../db/orders';
import * as seats from '../db/seats';
import * as waitlist from '../db/waitlist';
import { waitlistLimits } from './config';
import { AppError, notFound } from './errors';
import { type Caller, cancelOrder, decodeCursor, encodeCursor } from './orders';
import { offerFreedSeats, type WaitlistLimits } from './waitlist-offers';

/**
 * The cancellation wait-list (API.md "Second chances"). Fans wait for seats of a schedule; seats
 * that come free are offered to them in entry order, as orders with a deadline of their own
 * (`serve_waitlist`, db/migrations/0013_waitlist.sql, which also says why an offer can be neither
 * lost nor made twice). Paying an offer is paying an order.
 */

/** What a fan waits for: `quantity` adjacent seats, optionally within a section, a seat type or a price. */
export interface WaitlistWish {
  quantity: number;
  section?: string;
  seatType?: string;
  maxPrice?: number;
}

export interface WaitlistSettings {
  enabled: boolean;
}

/**
 * Joins the schedule's wait-list: one live entry per fan and schedule, for no more seats than an
 * order and the fan's limit allow. Seats on sale that fit are offered at once, so an entry never
 * waits for seats anyone could buy (the entry comes back `offered` then).
 */
export async function joinWaitlist(
  db: Db,
  userId: number,
  scheduleId: number,
  wish: WaitlistWish,
  limits: WaitlistLimits,
): Promise<waitlist.WaitlistEntryView> {
  if (wish.quantity > limits.maxSeatsPerOrder) {
    throw new AppError('SEAT_LIMIT_EXCEEDED', `At most ${limits.maxSeatsPerOrder} seats per order`);
  }
  return inTx(db, async (tx) => {
    // the wait-list lock first, as every offer takes it: the entry and the offers it may get
    // follow all that was offered before it
    await waitlist.lockWaitlist(tx, scheduleId);
    const schedule = await waitlist.waitlistSchedule(tx, scheduleId);
    if (!schedule?.concertActive) throw notFound('Schedule', scheduleId);
    refuseUnlessOpen(schedule);
    if (await waitlist.liveEntryOf(tx, userId, scheduleId)) {
      throw new AppError('ALREADY_WAITLISTED', 'You are already on the wait-list of this schedule');
    }
    const owned = await orders.liveSeatsOfUser(tx, userId, scheduleId, 0);
    if (owned + wish.quantity > limits.maxSeatsPerUser) {
      throw new AppError(
        'SEAT_LIMIT_EXCEEDED',
        `At most ${limits.maxSeatsPerUser} seats per customer in one schedule (you hold or own ${owned})`,
      );
    }
    const id = await waitlist.insertEntry(tx, { userId, scheduleId, ...wish });
    await waitlist.serveWaitlist(tx, scheduleId, limits.offerTtlSeconds, limits.maxSeatsPerUser);
    return (await waitlist.findEntry(tx, id))!;
  });
}

function refuseUnlessOpen(schedule: waitlist.WaitlistSchedule): void {
  if (schedule.status === 'cancelled') {
    throw new AppError('SCHEDULE_CANCELLED', 'This performance is cancelled: its wait-list is closed');
  }
  if (schedule.started) {
    throw new AppError('SCHEDULE_STARTED', 'The performance has started: its wait-list is closed');
  }
  if (schedule.status !== 'sales_open') throw new AppError('SALES_CLOSED', 'This schedule is not on sale');
  if (!schedule.enabled) throw new AppError('WAITLIST_OFF', 'This schedule has no wait-list');
}

/** An entry of the caller's (an admin's too); anyone else's is a 404, like an order. */
async function ownEntry(db: Db, caller: Caller, id: number) {
  const entry = await waitlist.findEntry(db, id);
  if (!entry || (entry.userId !== caller.id && !caller.isAdmin)) throw notFound('Wait-list entry', id);
  return entry;
}

/**
 * Leaves the wait-list. A waiting entry simply leaves; an offered one declines its offer (the offer's
 * order is cancelled and its seats pass to the next entry). An entry that is over already
 * (lapsed, declined, closed, left) stays as it is; a paid offer is an order to cancel instead.
 */
export async function leaveWaitlist(db: Db, caller: Caller, id: number): Promise<waitlist.WaitlistEntryView> {
  const entry = await ownEntry(db, caller, id);
  if (entry.status === 'waiting' && !(await inTx(db, (tx) => waitlist.leaveEntry(tx, id)))) {
    // offered meanwhile: decline it below
    return leaveWaitlist(db, caller, id);
  }
  if (entry.status === 'offered') {
    await cancelOrder(db, caller, entry.orderId!).catch(async (error) => {
      if (!(error instanceof AppError && error.code === 'NOTHING_CANCELLABLE')) throw error;
      // its deadline passed and no sweep has run yet: it lapses now, as the sweeper would have it
      await lapseOffer(db, entry.orderId!, entry.scheduleId);
    });
  }
  if (entry.status === 'accepted') {
    throw new AppError('CONFLICT', `The offer was paid: cancel order ${entry.orderId} instead`);
  }
  return strip((await waitlist.findEntry(db, id))!);
}

/** Expires a lapsed offer and frees its seats (for the next entry first), as the sweeper would. */
async function lapseOffer(db: Db, orderId: number, scheduleId: number): Promise<void> {
  await inTx(db, async (tx) => {
    const locked = await seats.lockSeatsOfOrder(tx, orderId);
    if ((await orders.expireOrders(tx, [orderId])).length === 0) return;
    const ours = locked.filter((s) => s.orderId === orderId).map((s) => s.id);
    await seats.releaseSeats(tx, orderId, ours);
  });
  await offerFreedSeats(db, scheduleId, waitlistLimits());
}

const strip = ({ userId: _, ...entry }: waitlist.WaitlistEntryView & { userId?: number }) => entry;

export async function getEntry(db: Db, caller: Caller, id: number): Promise<waitlist.WaitlistEntryView> {
  return strip(await ownEntry(db, caller, id));
}

export async function listMyEntries(db: Db, userId: number, limit: number, cursor?: string) {
  const rows = await waitlist.entriesOfUser(db, userId, limit, decodeCursor(cursor));
  const page = rows.slice(0, limit);
  return { items: page, nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null };
}

/** Turns a schedule's wait-list on or off, in the admin's transaction. */
export async function configureWaitlist(tx: Tx, scheduleId: number, settings: WaitlistSettings) {
  await waitlist.setWaitlistEnabled(tx, scheduleId, settings.enabled);
}

export async function waitlistView(db: Db, scheduleId: number): Promise<WaitlistSettings> {
  return { enabled: await waitlist.waitlistEnabled(db, scheduleId) };
}
