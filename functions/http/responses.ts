import type { AppError } from '../../domain/errors';
import type { RouteDef } from '../routes';
import type { HttpResult } from './middleware';

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

/** The status and body of what a route's handler returned. */
export function success(route: RouteDef, result: unknown): { status: number; body: unknown } {
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
