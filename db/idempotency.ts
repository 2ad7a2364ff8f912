import type { Tx } from './client';

export interface StoredResponse {
  status: number;
  body: unknown;
}

/**
 * Claims (user, key) inside the caller's transaction. A concurrent request with the same key
 * blocks on the primary key until this transaction ends, then finds the stored response — so two
 * identical requests at the same moment do the work once.
 */
export async function claimIdempotencyKey(
  tx: Tx,
  userId: number,
  key: string,
  requestHash: string,
): Promise<{ claimed: true } | { claimed: false; requestHash: string; response: StoredResponse }> {
  const inserted = await tx`
    insert into idempotency_keys (user_id, key, request_hash, response_status, response_body)
    values (${userId}, ${key}, ${requestHash}, 0, 'null')
    on conflict do nothing
    returning 1
  `;
  if (inserted.length > 0) return { claimed: true };
  const [row] = await tx<{ requestHash: string; responseStatus: number; responseBody: unknown }[]>`
    select request_hash as "requestHash", response_status as "responseStatus", response_body as "responseBody"
    from idempotency_keys
    where user_id = ${userId} and key = ${key}
  `;
  return {
    claimed: false,
    requestHash: row!.requestHash,
    response: { status: row!.responseStatus, body: row!.responseBody },
  };
}

export async function storeIdempotentResponse(
  tx: Tx,
  userId: number,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await tx`
    update idempotency_keys
    set response_status = ${response.status}, response_body = ${tx.json(response.body as never)}
    where user_id = ${userId} and key = ${key}
  `;
}

/** Keys are kept a day, like Stripe's: long enough for any client retry. */
export async function deleteOldIdempotencyKeys(
  tx: Tx | import('./client').Sql,
  olderThanHours = 24,
): Promise<number> {
  const result = await tx`
    delete from idempotency_keys where created_at < now() - make_interval(hours => ${olderThanHours})
  `;
  return result.count;
}
