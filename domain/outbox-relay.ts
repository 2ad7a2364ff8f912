import { type Db, inTx } from '../db/client';
import { claimPending, markAttempted, markPublished } from '../db/outbox';
import type { EventPublisher } from './ports';

/**
 * Publishes outbox rows written by committed transactions. A row is marked sent only after the
 * bus accepted it, so a crash between commit and publish loses nothing (at-least-once: consumers
 * dedupe on `outboxId`).
 */
export async function relayOutbox(
  db: Db,
  publisher: EventPublisher,
  batchSize = 100,
): Promise<{ published: number; failed: number }> {
  let published = 0;
  let failed = 0;
  for (;;) {
    const batch = await inTx(db, async (tx) => {
      const rows = await claimPending(tx, batchSize);
      if (rows.length === 0) return { sent: 0, failed: 0, size: 0 };
      const failedIds = new Set(await publisher.publish(rows));
      await markPublished(
        tx,
        rows.filter((r) => !failedIds.has(r.id)).map((r) => r.id),
      );
      await markAttempted(tx, [...failedIds]);
      return { sent: rows.length - failedIds.size, failed: failedIds.size, size: rows.length };
    });
    published += batch.sent;
    failed += batch.failed;
    // stop on a short batch, or when the bus refuses: the rows wait for the next run
    if (batch.size < batchSize || batch.failed > 0) return { published, failed };
  }
}
