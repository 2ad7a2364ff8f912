import type { Db } from '../db/client';
import { deleteOldIdempotencyKeys } from '../db/idempotency';
import { expireLapsedBatch } from '../db/orders';
import { waitlistLimits } from './config';
import { offerAllFreedSeats, type WaitlistLimits } from './waitlist-offers';

export interface SweepResult {
  seatsReleased: number;
  ordersExpired: number;
  batches: number;
  /** Wait-list offers made of the seats freed (by this run, or by a transaction that could not serve them). */
  offers: number;
  idempotencyKeysDeleted: number;
}

/**
 * Expires lapsed holds and lapsed pending payments in batches. Safe to run twice at once or while
 * fans act: each batch claims its seats with SKIP LOCKED. Booking never waits for it — a lapsed
 * seat is free to the next fan at once — but the wait-list does: the seats it releases, and any
 * a crash kept from being offered, are offered to the wait-lists here (domain/waitlist-offers.ts).
 */
export async function sweep(
  db: Db,
  options: { batchSize?: number; maxBatches?: number; waitlist?: WaitlistLimits } = {},
): Promise<SweepResult> {
  const batchSize = options.batchSize ?? 2000;
  const maxBatches = options.maxBatches ?? 200;
  const result: SweepResult = {
    seatsReleased: 0,
    ordersExpired: 0,
    batches: 0,
    offers: 0,
    idempotencyKeysDeleted: 0,
  };
  while (result.batches < maxBatches) {
    // one statement per batch: a batch is its own transaction
    const batch = await expireLapsedBatch(db, batchSize);
    result.batches++;
    result.seatsReleased += batch.seats;
    result.ordersExpired += batch.orderIds.length;
    if (batch.seats < batchSize) break;
  }
  result.offers = await offerAllFreedSeats(db, options.waitlist ?? waitlistLimits());
  result.idempotencyKeysDeleted = await deleteOldIdempotencyKeys(db);
  return result;
}
