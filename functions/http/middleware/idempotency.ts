import { createHash } from 'node:crypto';
import { inTx } from '../../../db/client';
import {
  claimIdempotencyKey,
  releaseIdempotencyKey,
  storeIdempotentResponse,
  takeOverStaleClaim,
} from '../../../db/idempotency';
import { AppError } from '../../../domain/errors';
import type { Caller } from '../../../domain/orders';
import type { RouteDef } from '../../routes';
import type { HttpEvent, HttpRequest, HttpResult } from '../middleware';
import { json, problem, success } from '../responses';
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
  if (route.needs.includes('internet'))
    return respondOnceAroundGateway(route, key, caller, request, hash, fn);
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

/**
 * The same promise for a route that calls a payment gateway, whose work cannot run inside one
 * transaction: what it applied after the gateway answered must stay applied even when it then
 * answers an error (a decline, a refund of a charge that came too late), and no transaction may stay
 * open while a gateway takes its time. The key is claimed and committed first; the work runs on its
 * own (those routes are idempotent by themselves: outcomes are applied once per gateway state); its
 * response — a success or a final 4xx — is stored after. A concurrent duplicate finds the key in
 * progress and gets a 409; a request that failed without an answer (5xx) releases the key, so a
 * retry runs again.
 */
/** Longer than any function runs (API Gateway gives up after 30 s): a claim this old was abandoned. */
const STALE_CLAIM_SECONDS = 60;

async function respondOnceAroundGateway<R extends RouteDef>(
  route: R,
  key: string,
  caller: Caller,
  request: HttpRequest<R>,
  hash: string,
  fn: (request: HttpRequest<R>) => Promise<unknown>,
): Promise<HttpResult> {
  const claim = await inTx(request.db, (tx) => claimIdempotencyKey(tx, caller.id, key, hash));
  if (!claim.claimed) {
    if (claim.requestHash !== hash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request');
    }
    const abandoned =
      claim.response.status === 0 &&
      (await takeOverStaleClaim(request.db, caller.id, key, STALE_CLAIM_SECONDS));
    if (claim.response.status === 0 && !abandoned) {
      throw new AppError(
        'CONFLICT',
        'A request with this Idempotency-Key is still in progress; retry shortly',
      );
    }
    if (!abandoned) return replay(claim.response, key);
  }
  let response: { status: number; body: unknown };
  try {
    const answer = success(route, await fn(request));
    response = { status: answer.status, body: toJson(answer.body) };
  } catch (error) {
    if (error instanceof AppError && error.status < 500) {
      // a final answer (declined, refunded, refused): the same key gets it again
      const answer = problem(error, { instance: request.event.rawPath });
      response = { status: answer.statusCode!, body: JSON.parse(answer.body!) };
      await inTx(request.db, (tx) => storeIdempotentResponse(tx, caller.id, key, response));
    } else {
      // nothing known (the gateway did not answer, a fault of ours): a retry runs again
      await releaseIdempotencyKey(request.db, caller.id, key);
    }
    throw error;
  }
  await inTx(request.db, (tx) => storeIdempotentResponse(tx, caller.id, key, response));
  return json(response.status, response.body, { 'idempotency-key': key });
}

/** A stored answer again; a stored problem document keeps its media type. */
function replay(response: { status: number; body: unknown }, key: string): HttpResult {
  return json(response.status, response.body, {
    'idempotency-key': key,
    ...(response.status >= 400 ? { 'content-type': 'application/problem+json' } : {}),
  });
}

/** Dates become ISO strings once, here, so stored idempotent responses replay byte for byte. */
function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
