import type { Tx } from './client';

export type DomainEventType =
  | 'order.paid'
  | 'order.cancelled'
  | 'order.refunded'
  | 'order.expired'
  | 'payment.failed'
  | 'refund.requested'
  | 'refund.sent'
  | 'refund.failed'
  /** written by SQL (serve_waitlist, follow_offer: db/migrations/0013_waitlist.sql) */
  | 'waitlist.offered'
  | 'waitlist.lapsed';

/** Written in the same transaction as the change it announces; the relay publishes it later. */
export async function recordEvent(
  tx: Tx,
  type: DomainEventType,
  detail: Record<string, unknown>,
): Promise<void> {
  await tx`insert into outbox (detail_type, detail) values (${type}, ${tx.json(detail as never)})`;
}

export interface OutboxRow {
  id: number;
  detailType: DomainEventType;
  detail: Record<string, unknown>;
  createdAt: Date;
}

/** Claims a batch of unpublished rows; SKIP LOCKED lets two relays run without sending twice. */
export async function claimPending(tx: Tx, limit: number): Promise<OutboxRow[]> {
  return tx<OutboxRow[]>`
    select id, detail_type as "detailType", detail, created_at as "createdAt"
    from outbox where published_at is null
    order by id limit ${limit}
    for update skip locked
  `;
}

export async function markPublished(tx: Tx, ids: number[]): Promise<void> {
  if (ids.length) await tx`update outbox set published_at = now() where id = any(${ids}::bigint[])`;
}

export async function markAttempted(tx: Tx, ids: number[]): Promise<void> {
  if (ids.length) await tx`update outbox set attempts = attempts + 1 where id = any(${ids}::bigint[])`;
}
