import type { Db, Tx } from './client';

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

/** Forgets an unanswered claim (its request failed), so that a retry with the key runs again. */
export async function releaseIdempotencyKey(db: Db, userId: number, key: string): Promise<void> {
  await db`delete from idempotency_keys where user_id = ${userId} and key = ${key} and response_status = 0`;
}

/**
 * Takes over a claim left unanswered for `seconds` (its request crashed or timed out mid-way: longer
 * than any function may run), so the key does not answer "in progress" for the rest of the day.
 */
export async function takeOverStaleClaim(
  db: Db,
  userId: number,
  key: string,
  seconds: number,
): Promise<boolean> {
  const rows = await db`
    update idempotency_keys set created_at = now()
    where user_id = ${userId} and key = ${key} and response_status = 0
      and created_at < now() - make_interval(secs => ${seconds})
    returning 1
  `;
  return rows.length > 0;
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
