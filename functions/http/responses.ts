import type { AppError } from '../../domain/errors';
import type { RouteDef } from '../routes';
import type { HttpEvent, HttpResult } from './middleware';
import { header } from './middleware/parse-request';

/** A body that is JSON text already (built by PostgreSQL): sent as is, never parsed. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A success answered with another status than the route's `status`: one its `otherStatuses` declares. */
export class WithStatus {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** A body with its entity tag, from a route with `cacheControl`: sent with `ETag` and `Cache-Control`. */
export class Tagged {
  constructor(
    readonly etag: string,
    readonly body: unknown,
  ) {}
}

/** The client's copy is current (If-None-Match named the tag): 304 without a body. */
export class NotModified {
  constructor(readonly etag: string) {}
}

/**
 * A gzipped body is another representation than the plain one, so its strong tag differs: the
 * compression middleware appends this inside the quotes (as Apache's mod_deflate does), and
 * If-None-Match accepts either form.
 */
export const GZIP_TAG_SUFFIX = '-gzip';

/**
 * Answers the request for a representation tagged `opaqueTag`: 304 when the client's
 * If-None-Match names it (weak comparison, RFC 9110 13.1.2, in either content coding) or is `*`;
 * otherwise the body, which is only built then.
 */
export async function conditional(
  event: HttpEvent,
  opaqueTag: string,
  body: () => unknown,
): Promise<Tagged | NotModified> {
  const etag = `"${opaqueTag}"`;
  const sent = header(event, 'if-none-match');
  const strong = (tag: string) => tag.trim().replace(/^W\//, '');
  const plain = (tag: string) =>
    strong(tag).endsWith(`${GZIP_TAG_SUFFIX}"`)
      ? `${strong(tag).slice(0, -GZIP_TAG_SUFFIX.length - 1)}"`
      : strong(tag);
  const matched = sent?.trim() === '*' ? etag : sent?.split(',').find((tag) => plain(tag) === etag);
  // the 304 names the representation the client has, as the 200 that gave it did
  return matched ? new NotModified(strong(matched)) : new Tagged(etag, await body());
}

/** The status, body and headers of what a route's handler returned. */
export function success(
  route: RouteDef,
  result: unknown,
): { status: number; body: unknown; headers?: Record<string, string> } {
  if (result instanceof Tagged || result instanceof NotModified) {
    if (!route.cacheControl)
      throw new Error(`${route.method} ${route.path} answered with an ETag but declares no cacheControl`);
    const headers = { etag: result.etag, 'cache-control': route.cacheControl };
    return result instanceof Tagged
      ? { status: route.status, body: result.body ?? null, headers }
      : { status: 304, body: undefined, headers };
  }
  if (!(result instanceof WithStatus)) return { status: route.status, body: result ?? null };
  // a status the OpenAPI document does not promise is a bug of ours, never something to send
  if (!route.otherStatuses?.[result.status]) {
    throw new Error(
      `${route.method} ${route.path} answered ${result.status}, which its route does not declare`,
    );
  }
  return { status: result.status, body: result.body ?? null };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  const text = body instanceof RawJson ? body.text : JSON.stringify(body);
  return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: text };
}

const PROBLEM_TYPE = 'https://ticketing.example/problems/';

/**
 * The one builder of RFC 9457 problem details, for the handlers and the local gateway alike:
 * `type` is derived from the stable `code`, and the error's extensions (e.g. `errors`) join the
 * standard members.
 */
export function problem(
  error: AppError,
  options: { instance?: string; headers?: Record<string, string> } = {},
): HttpResult {
  return {
    statusCode: error.status,
    headers: { 'content-type': 'application/problem+json', ...options.headers },
    body: JSON.stringify({
      type: `${PROBLEM_TYPE}${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
      ...(options.instance ? { instance: options.instance } : {}),
      ...error.extensions,
    }),
  };
}
