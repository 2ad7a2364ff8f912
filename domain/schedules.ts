import * as catalog from '../db/catalog';
import { type Db, inTx } from '../db/client';
import * as orders from '../db/orders';
import * as seats from '../db/seats';
import type { ScheduleStatus } from '../db/vocabulary';
import * as waitlist from '../db/waitlist';
import { adminSchedule } from './catalog';
import { waitlistLimits } from './config';
import { AppError, notFound } from './errors';
import { cancelItems } from './orders';
import { configureWaitingRoom, type WaitingRoomInput } from './waiting-room';
import { configureWaitlist, type WaitlistSettings } from './waitlist';
import { offerFreedSeats } from './waitlist-offers';

/** What an administrator may change of a schedule: its status, its waiting room, its wait-list. */
export interface ScheduleChanges {
  status?: ScheduleStatus;
  waitingRoom?: WaitingRoomInput;
  waitlist?: WaitlistSettings;
}

/** Applies the changes in one transaction; the schedule comes back as administrators see it. */
export async function updateSchedule(db: Db, id: number, changes: ScheduleChanges, now: Date) {
  const schedule = await inTx(db, async (tx) => {
    if (changes.status) await setStatus(tx, id, changes.status);
    if (changes.waitingRoom) await configureWaitingRoom(tx, id, changes.waitingRoom, now);
    if (changes.waitlist) await configureWaitlist(tx, id, changes.waitlist);
    return adminSchedule(tx, id, now);
  });
  // a wait-list turned on (or a sale reopened) gets the seats on sale that fit its entries
  await offerFreedSeats(db, id, waitlistLimits());
  return schedule;
}

/**
 * Opens, closes or cancels a schedule. Cancelling is final, and only stops sales here: a
 * 50,000-seat show has thousands of orders to cancel or refund, far more than a request can do, so
 * `settleCancelledSchedules` does that in the background. The schedule comes back with its progress.
 */
export async function changeScheduleStatus(db: Db, id: number, status: ScheduleStatus) {
  await setStatus(db, id, status);
  return adminSchedule(db, id);
}

async function setStatus(db: Db, id: number, status: ScheduleStatus): Promise<void> {
  // its waiting entries are closed (its offers close with their orders, as the job cancels them)
  if (status === 'cancelled') await waitlist.closeWaitingEntries(db, id);
  if (!(await catalog.setScheduleStatus(db, id, status))) {
    // unchanged: say why, from the status the guarded update saw
    const current = await catalog.findSchedule(db, id);
    if (!current) throw notFound('Schedule', id);
    if (current.status === 'cancelled' && status !== 'cancelled') {
      throw new AppError('INVALID_STATUS_TRANSITION', 'A cancelled schedule cannot be reopened');
    }
  }
}

export interface SettleOptions {
  /** Orders listed per query; each is settled in its own transaction. */
  batchSize?: number;
  /** Asked before each order: false stops the run (its time is nearly up). */
  keepGoing?: () => boolean;
}

export interface SettleResult {
  ordersCancelled: number;
  ordersRefunded: number;
  /** Orders whose transaction failed: left as they were, for the next run. */
  failed: { orderId: number; error: string }[];
  batches: number;
  /** Every open order listed was tried; false when `keepGoing` stopped the run first. */
  reachedEnd: boolean;
}

/**
 * The schedule cancellation job: settles the open orders of every cancelled schedule — unpaid ones
 * cancelled (reason `schedule_cancelled`), paid ones refunded through `cancelItems`, which records
 * the refunds — one order per transaction, so a run can stop or die anywhere and lose at most the
 * order in hand. What is left to do is read from the data (the open orders of cancelled schedules),
 * never from a progress record, so the next run simply continues, and it also finds an order that
 * a hold created after the cancel committed (the hold had read the schedule as on sale just
 * before). Each order is re-checked under its lock: another run, the customer or the payment
 * processor may have settled it since it was listed, and it is never refunded twice.
 */
export async function settleCancelledSchedules(db: Db, options: SettleOptions = {}): Promise<SettleResult> {
  const batchSize = options.batchSize ?? 100;
  const keepGoing = options.keepGoing ?? (() => true);
  const result: SettleResult = {
    ordersCancelled: 0,
    ordersRefunded: 0,
    failed: [],
    batches: 0,
    reachedEnd: false,
  };
  // by id, from where the last batch ended: an order that fails is not listed again in this run
  let afterId = 0;
  for (;;) {
    const ids = await orders.openOrdersOfCancelledSchedules(db, afterId, batchSize);
    if (ids.length > 0) result.batches++;
    for (const orderId of ids) {
      if (!keepGoing()) return result;
      try {
        const settled = await settleOrder(db, orderId);
        if (settled === 'cancelled') result.ordersCancelled++;
        if (settled === 'refunded') result.ordersRefunded++;
      } catch (error) {
        // one order that cannot be settled (a lock held too long, data an operator must fix) must
        // not keep the rest of the show from being cancelled
        result.failed.push({ orderId, error: (error as Error).message });
      }
    }
    if (ids.length < batchSize) {
      result.reachedEnd = true;
      return result;
    }
    afterId = ids.at(-1)!;
  }
}

async function settleOrder(db: Db, orderId: number): Promise<'cancelled' | 'refunded' | 'unchanged'> {
  return inTx(db, async (tx) => {
    await seats.lockSeatsOfOrder(tx, orderId);
    const order = await orders.lockOrder(tx, orderId);
    if (!order?.open || order.scheduleStatus !== 'cancelled') return 'unchanged';
    const live = (await orders.itemsOfOrder(tx, orderId)).filter((i) => i.status !== 'cancelled');
    await cancelItems(tx, order, live, 'schedule_cancelled');
    return order.status === 'paid' ? 'refunded' : 'cancelled';
  });
}
