import type { Db, Sql } from '../db/client';
import * as waitlist from '../db/waitlist';
import type { BookingLimits } from './orders';

/**
 * Where freed seats meet the wait-list. Every statement that frees seats notes its schedule as due
 * in its own transaction (`note_seats_freed`, db/migrations/0013_waitlist.sql); the code that ran
 * it serves the schedule right after the commit, and the sweeper serves whatever is still due.
 */

export interface WaitlistLimits extends Pick<BookingLimits, 'maxSeatsPerOrder' | 'maxSeatsPerUser'> {
  /** How long an offer waits for its payment. */
  offerTtlSeconds: number;
}

/**
 * Offers the seats a committed transaction freed in `scheduleId` (when its wait-list is due): run
 * right after that commit. Never inside another transaction: one that holds seat or order locks
 * and then waited for the wait-list lock and the entrants' hold locks would take them in the
 * reverse of the order every hold does (db/migrations/0013_waitlist.sql). Left undone (a crash, a
 * transaction), the schedule stays due and the sweeper serves it.
 */
export async function offerFreedSeats(db: Db, scheduleId: number, limits: WaitlistLimits): Promise<number> {
  if (!isPool(db) || !(await waitlist.isDue(db, scheduleId))) return 0;
  return waitlist.serveWaitlist(db, scheduleId, limits.offerTtlSeconds, limits.maxSeatsPerUser);
}

/** The sweeper's part: every schedule still due (a crash, a transaction that could not serve). */
export async function offerAllFreedSeats(db: Db, limits: WaitlistLimits): Promise<number> {
  if (!isPool(db)) return 0;
  let offers = 0;
  for (const scheduleId of await waitlist.dueSchedules(db, 1000)) {
    offers += await waitlist.serveWaitlist(db, scheduleId, limits.offerTtlSeconds, limits.maxSeatsPerUser);
  }
  return offers;
}

/** A pool, not a transaction: postgres.js gives only the pool `begin`. */
const isPool = (db: Db): db is Sql => typeof (db as Sql).begin === 'function';
