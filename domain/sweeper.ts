import type { Db } from '../db/client';
import { deleteOldIdempotencyKeys } from '../db/idempotency';
import { expireLapsedBatch } from '../db/orders';

export interface SweepResult {
  seatsReleased: number;
  ordersExpired: number;
  batches: number;
  idempotencyKeysDeleted: number;
}

/**
 * Expires lapsed holds and lapsed pending payments in batches. Safe to run twice at once or while
 * fans act: each batch claims its seats with SKIP LOCKED. Correctness never waits for it — a lapsed
 * seat is free to the next fan at once — it only keeps the seat map and reports tidy.
 */
export async function sweep(
  db: Db,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<SweepResult> {
  const batchSize = options.batchSize ?? 2000;
  const maxBatches = options.maxBatches ?? 200;
  const result: SweepResult = { seatsReleased: 0, ordersExpired: 0, batches: 0, idempotencyKeysDeleted: 0 };
  while (result.batches < maxBatches) {
    // one statement per batch: a batch is its own transaction
    const batch = await expireLapsedBatch(db, batchSize);
    result.batches++;
    result.seatsReleased += batch.seats;
    result.ordersExpired += batch.orderIds.length;
    if (batch.seats < batchSize) break;
  }
  result.idempotencyKeysDeleted = await deleteOldIdempotencyKeys(db);
  return result;
}
