import type { Db, Sql } from '../db/client';
import { isTransient } from '../db/errors';
import * as waitlist from '../db/waitlist';
import type { BookingLimits } from './orders';

/**
 * Where freed seats meet the wait-list. While a schedule's wait-list has someone waiting, every
 * statement that frees seats keeps them for it (no fan's hold counts them free) and notes the
 * schedule as due, in its own transaction (db/migrations/0015_waitlist_before_public_sale.sql); the
 * code that ran it serves the schedule right after the commit, and the sweeper serves whatever is
 * still due. What no entry fits goes on public sale when the serving commits.
 */

export interface WaitlistLimits extends Pick<BookingLimits, 'maxSeatsPerOrder' | 'maxSeatsPerUser'> {
  /** How long an offer waits for its payment. */
  offerTtlSeconds: number;
}

/**
 * Offers the seats a committed transaction freed in `scheduleId` (when its wait-list is due): run
 * right after that commit. Never inside another transaction: one that holds seat or order locks
 * and then waited for the wait-list lock would take them in the reverse of the order the serving
 * does (db/migrations/0013_waitlist.sql). Left undone (a crash, a transaction), the seats stay kept
 * for the wait-list and the schedule due, and the sweeper serves it.
 */
export async function offerFreedSeats(db: Db, scheduleId: number, limits: WaitlistLimits): Promise<number> {
  if (!isPool(db) || !(await waitlist.isDue(db, scheduleId))) return 0;
  return serveOrLeaveDue(db, scheduleId, limits);
}

/** The sweeper's part: every schedule still due (a crash, a transaction that could not serve). */
export async function offerAllFreedSeats(db: Db, limits: WaitlistLimits): Promise<number> {
  if (!isPool(db)) return 0;
  let offers = 0;
  for (const scheduleId of await waitlist.dueSchedules(db, 1000)) {
    offers += await serveOrLeaveDue(db, scheduleId, limits);
  }
  return offers;
}

/**
 * Serves the schedule. A serving the database gave up on (the wait-list lock or a statement
 * timed out while a long serving ran) rolled back and left the schedule due: the next run serves
 * it, and the request whose commit freed the seats has succeeded all the same — never a 5xx for a
 * cancel that was made.
 */
async function serveOrLeaveDue(db: Sql, scheduleId: number, limits: WaitlistLimits): Promise<number> {
  try {
    return await waitlist.serveWaitlist(db, scheduleId, limits.offerTtlSeconds, limits.maxSeatsPerUser);
  } catch (error) {
    if (isTransient(error)) return 0;
    throw error;
  }
}

/** A pool, not a transaction: postgres.js gives only the pool `begin`. */
const isPool = (db: Db): db is Sql => typeof (db as Sql).begin === 'function';
