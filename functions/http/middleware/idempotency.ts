import { createHash } from 'node:crypto';
import { inTx } from '../../../db/client';
import { claimIdempotencyKey, storeIdempotentResponse } from '../../../db/idempotency';
import { AppError } from '../../../domain/errors';
import type { Caller } from '../../../domain/orders';
import type { RouteDef } from '../../routes';
import type { HttpEvent, HttpRequest, HttpResult } from '../middleware';
import { json, success } from '../responses';
import { header } from './parse-request';

/** The Idempotency-Key header, if the caller sent one (any string of 1 to 200 characters). */
export function idempotencyKey(event: HttpEvent): string | undefined {
  const key = header(event, 'idempotency-key');
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > 200) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 200 characters', {
      errors: [{ field: 'header.idempotency-key', message: 'must be 1 to 200 characters' }],
    });
  }
  return key;
}

/**
 * Runs the route once per (caller, key): the first request claims the key, does the work and stores
 * its response in one transaction; a retry with the same key and request gets that response again,
 * and the same key with another request is refused. A concurrent duplicate waits on the claim.
 *
 * A wrapper rather than a before/after middleware (as Powertools' `makeIdempotent` wraps a
 * function): the route's work must run inside the transaction that claims the key, so that a
 * failure releases the key with everything else.
 */
export async function respondOnce<R extends RouteDef>(
  route: R,
  key: string,
  caller: Caller,
  request: HttpRequest<R>,
  fn: (request: HttpRequest<R>) => Promise<unknown>,
): Promise<HttpResult> {
  const { event, rawBody } = request;
  const hash = createHash('sha256')
    .update(`${event.requestContext.http.method} ${event.rawPath}\n${rawBody}`)
    .digest('hex');
  const { status, body } = await inTx(request.db, async (tx) => {
    const claim = await claimIdempotencyKey(tx, caller.id, key, hash);
    if (!claim.claimed) {
      if (claim.requestHash !== hash) {
        throw new AppError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different request',
        );
      }
      return claim.response;
    }
    const answer = success(route, await fn({ ...request, db: tx }));
    const response = { status: answer.status, body: toJson(answer.body) };
    await storeIdempotentResponse(tx, caller.id, key, response);
    return response;
  });
  return json(status, body, { 'idempotency-key': key });
}

/** Dates become ISO strings once, here, so stored idempotent responses replay byte for byte. */
function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
