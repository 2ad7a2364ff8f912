import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type * as z from 'zod/mini';
import { type Db, getSql, inTx } from '../../db/client';
import { claimIdempotencyKey, storeIdempotentResponse } from '../../db/idempotency';
import { ensureUser, type Identity } from '../../db/users';
import { AppError, parseJson, parseWith } from '../../domain/errors';
import { logger, metrics } from '../observability';
import type { RouteDef } from '../routes';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

type Infer<T> = T extends z.ZodMiniType ? z.output<T> : undefined;

export interface Caller {
  id: number;
  sub: string;
  isAdmin: boolean;
}

export interface HttpRequest<R extends RouteDef> {
  params: Infer<R['params']>;
  query: Infer<R['query']>;
  body: Infer<R['body']>;
  /** Present on customer and admin routes. */
  caller: R['auth'] extends 'customer' | 'admin' ? Caller : undefined;
  /** The database, or the idempotency transaction the request runs in. */
  db: Db;
  event: HttpEvent;
  /** The raw body, exactly as received (webhook signatures are computed over it). */
  rawBody: string;
}

const DEFAULT_MAX_BODY = 64 * 1024;
const PROBLEM_TYPE = 'https://ticketing.example/problems/';

/**
 * Builds the Lambda handler of one route: the same middy chain for every route, so that parsing,
 * validation, auth, idempotency and errors are written once. Handlers only map a parsed request to
 * a domain call.
 */
export function httpHandler<R extends RouteDef>(route: R, fn: (request: HttpRequest<R>) => Promise<unknown>) {
  return middy<HttpEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(problemDetails())
    .handler(async (event) => {
      // who may call comes before what they sent: a stranger learns nothing about validation
      const identity =
        route.auth === 'customer' || route.auth === 'admin' ? authorize(route, event) : undefined;
      const parsed = parseRequest(route, event);
      const db = getSql();
      const caller = identity && { ...identity, id: await ensureUser(db, identity) };
      const request = { ...parsed, caller, db, event } as HttpRequest<R>;

      const key = route.idempotent ? idempotencyKey(event) : undefined;
      if (key && caller) {
        const hash = createHash('sha256')
          .update(`${event.requestContext.http.method} ${event.rawPath}\n${parsed.rawBody}`)
          .digest('hex');
        const { status, body } = await inTx(db, async (tx) => {
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
          const response = { status: route.status, body: toJson(await fn({ ...request, db: tx })) };
          await storeIdempotentResponse(tx, caller.id, key, response);
          return response;
        });
        return json(status, body, { 'idempotency-key': key });
      }
      const result = await fn(request);
      if (result instanceof RawJson) return compress(event, json(route.status, result));
      // serialised once, here (toJson's round trip is only for responses that are stored)
      return compress(event, json(route.status, result ?? null));
    });
}

/** A body that is JSON text already (built by PostgreSQL): sent as is, never parsed. */
export class RawJson {
  constructor(readonly text: string) {}
}

const COMPRESS_FROM_BYTES = 16 * 1024;

/**
 * Large bodies (a 50,000-seat map is ~5 MB of JSON, close to Lambda's 6 MB response limit) are
 * gzipped when the client accepts it: API Gateway passes a base64 body with its encoding through.
 */
function compress(event: HttpEvent, result: HttpResult): HttpResult {
  const body = result.body ?? '';
  if (body.length < COMPRESS_FROM_BYTES || !/\bgzip\b/.test(header(event, 'accept-encoding') ?? ''))
    return result;
  return {
    ...result,
    headers: { ...result.headers, 'content-encoding': 'gzip', vary: 'accept-encoding' },
    body: gzipSync(body, { level: 1 }).toString('base64'),
    isBase64Encoded: true,
  };
}

// ---- request parsing -------------------------------------------------------------------------

function parseRequest(route: RouteDef, event: HttpEvent) {
  const rawBody = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  const params = route.params ? validate(route.params, event.pathParameters ?? {}, 'path') : undefined;
  // `?genre=&q=` (an empty filter, as forms send it) means no filter, not an invalid one
  const queryParams = Object.fromEntries(
    Object.entries(event.queryStringParameters ?? {}).filter(([, v]) => v !== ''),
  );
  const query = route.query ? validate(route.query, queryParams, 'query') : undefined;
  let body: unknown;
  if (route.body) {
    if (Buffer.byteLength(rawBody) > (route.maxBodyBytes ?? DEFAULT_MAX_BODY)) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `The body may be at most ${route.maxBodyBytes ?? DEFAULT_MAX_BODY} bytes`,
      );
    }
    if (route.verifiesBody) {
      body = undefined;
    } else if (rawBody.trim() === '' && route.bodyOptional) {
      body = validate(route.body, {}, 'body');
    } else {
      const contentType = header(event, 'content-type') ?? '';
      if (!/^application\/(.+\+)?json\s*(;|$)/i.test(contentType)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
      }
      body = validate(route.body, parseJson(rawBody), 'body');
    }
  } else if (rawBody.length > DEFAULT_MAX_BODY) {
    throw new AppError('PAYLOAD_TOO_LARGE', 'This route takes no body');
  }
  return { params, query, body, rawBody };
}

function validate(schema: z.ZodMiniType, value: unknown, where: 'path' | 'query' | 'body') {
  if (where !== 'path') return parseWith(schema, value, where);
  try {
    return parseWith(schema, value, where);
  } catch (error) {
    // A malformed id names nothing that exists.
    throw new AppError('NOT_FOUND', 'No such resource', (error as AppError).extensions);
  }
}

function idempotencyKey(event: HttpEvent): string | undefined {
  const key = header(event, 'idempotency-key');
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > 200) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 200 characters', {
      errors: [{ field: 'header.idempotency-key', message: 'must be 1 to 200 characters' }],
    });
  }
  return key;
}

export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const found = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return found ? headers[found] : undefined;
}

// ---- auth ------------------------------------------------------------------------------------

/**
 * The signature, issuer, audience and expiry were checked by API Gateway's JWT authorizer (locally:
 * by the local gateway, the same way). Here: who is calling, and may they call this route.
 */
function authorize(route: RouteDef, event: HttpEvent): Omit<Caller, 'id'> & Identity {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0)
    throw new AppError('UNAUTHORIZED', 'A valid bearer token is required');
  const isAdmin = groupsOf(claims).includes('admin');
  if (route.auth === 'admin' && !isAdmin) throw new AppError('FORBIDDEN', 'This route is for administrators');
  return {
    sub,
    isAdmin,
    email: typeof claims?.email === 'string' ? claims.email : undefined,
    name: typeof claims?.name === 'string' ? claims.name : undefined,
  };
}

/** API Gateway flattens array claims to strings such as "[admin staff]"; accept both forms. */
export function groupsOf(claims: Record<string, unknown> | undefined): string[] {
  const raw = claims?.['cognito:groups'] ?? claims?.groups;
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === 'string') {
    return raw
      .replace(/^\[|\]$/g, '')
      .split(/[\s,]+/)
      .filter(Boolean);
  }
  return [];
}

// ---- responses and errors --------------------------------------------------------------------

/** Dates become ISO strings once, here, so stored idempotent responses replay byte for byte. */
function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  const text = body instanceof RawJson ? body.text : JSON.stringify(body);
  return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: text };
}

export function problem(error: AppError, instance?: string): HttpResult {
  return {
    statusCode: error.status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({
      type: `${PROBLEM_TYPE}${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
      ...(instance ? { instance } : {}),
      ...error.extensions,
    }),
  };
}

/** PostgreSQL states that mean "not now" rather than "never": the client may retry. */
const UNAVAILABLE_STATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '55P03',
  '57014',
  '40P01',
  '40001',
  '08006',
  '08001',
  '08003',
  '08004',
]);
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'EPIPE',
]);

export function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  const raw = (error as { code?: unknown } | null | undefined)?.code;
  // a DOMException's code is a number: only driver and SQLSTATE codes (strings) are mapped
  const code = typeof raw === 'string' ? raw : undefined;
  // Class 22 (data exception): a value the schema let through but PostgreSQL cannot store, such
  // as a NUL character in text. Bad input, and the transaction rolled back: a 400, not a 500.
  if (code?.startsWith('22')) {
    return new AppError(
      'VALIDATION_FAILED',
      'A value in the request cannot be stored (for example a NUL character)',
    );
  }
  if (code && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CODES.has(code))) {
    return new AppError('SERVICE_UNAVAILABLE', 'The service is busy or restarting; retry shortly');
  }
  return undefined;
}

/** The one place errors become RFC 9457 problem details. Internals never reach the client. */
export function problemDetails(): MiddlewareObj<HttpEvent, HttpResult, Error, Context> {
  return {
    onError: async (request) => {
      const known = toAppError(request.error);
      if (known && known.status < 500) {
        request.response = problem(known, request.event.rawPath);
        return;
      }
      if (known) {
        logger.warn('request could not be served', { error: request.error as Error });
        request.response = {
          ...problem(known, request.event.rawPath),
          headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
        };
        return;
      }
      logger.error('unexpected error', { error: request.error as Error });
      request.response = problem(
        new AppError(
          'INTERNAL_ERROR',
          `Something went wrong on our side (request ${request.context.awsRequestId})`,
        ),
        request.event.rawPath,
      );
    },
  };
}
