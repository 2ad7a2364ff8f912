import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type * as z from 'zod/mini';
import type { Db } from '../../db/client';
import type { Identity } from '../../db/users';
import type { Caller } from '../../domain/orders';
import { databaseFor } from '../database';
import { logger, metrics } from '../observability';
import type { RouteDef } from '../routes';
import { admission } from './middleware/admission';
import { authorize, upsertCaller } from './middleware/auth';
import { compression } from './middleware/compression';
import { idempotencyKey, respondOnce } from './middleware/idempotency';
import { parseRequest } from './middleware/parse-request';
import { problemDetails } from './middleware/problem-details';
import { json, success } from './responses';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

type Infer<T> = T extends z.ZodMiniType ? z.output<T> : undefined;

export interface HttpRequest<R extends RouteDef> {
  params: Infer<R['params']>;
  query: Infer<R['query']>;
  headers: Infer<R['headers']>;
  body: Infer<R['body']>;
  /** Present on customer and admin routes: who the token says is calling. */
  identity: R['auth'] extends 'customer' | 'admin' ? Identity & { isAdmin: boolean } : undefined;
  /** Present on customer and admin routes, except those that need only the identity. */
  caller: R['auth'] extends 'customer' | 'admin'
    ? R['identityOnly'] extends true
      ? undefined
      : Caller
    : undefined;
  /** The database, or the idempotency transaction the request runs in. */
  db: Db;
  event: HttpEvent;
  /** The raw body, exactly as received (webhook signatures are computed over it). */
  rawBody: string;
  /**
   * Runs `fn` once the request's work is committed — after the idempotency transaction, when there
   * is one — before the response goes out. For work that must not share the request's locks (the
   * wait-list's offers of seats the request freed). A failure is logged, not answered: such work
   * has a background job that finishes it.
   */
  afterCommit: (fn: () => Promise<unknown>) => void;
}

/** What the middlewares below leave for the handler, on middy's context. */
export interface HttpContext extends Context {
  /** Set by parseRequest. */
  input?: { params: unknown; query: unknown; headers: unknown; body: unknown; rawBody: string };
  /** Set by authorize on customer and admin routes (not `identity`: Lambda's Context has one). */
  tokenIdentity?: Identity & { isAdmin: boolean };
  /** Set by upsertCaller: the identity with its `users` row id. */
  caller?: Caller & Identity;
}

/**
 * Builds the Lambda handler of one route: the same middy chain for every route, so that parsing,
 * validation, auth, idempotency and errors are written once. Handlers only map a parsed request to
 * a domain call. `before` steps run in the order listed; `after` and `onError` in reverse.
 */
export function httpHandler<R extends RouteDef>(route: R, fn: (request: HttpRequest<R>) => Promise<unknown>) {
  return middy<HttpEvent, HttpResult, Error, HttpContext>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(problemDetails()) // onError: any error → an RFC 9457 problem document
    .use(compression()) // after: gzip a large body
    .use(authorize(route)) // before: 401/403 from the token's claims
    .use(parseRequest(route)) // before: path, query and body against the route's schemas
    .use(admission(route)) // before: 403 without the waiting room's admission, while it is on
    .use(upsertCaller(route)) // before: the caller's `users` row
    .handler(async (event, context) => {
      const { caller } = context;
      const committed: (() => Promise<unknown>)[] = [];
      const request = {
        ...context.input,
        identity: context.tokenIdentity,
        caller,
        db: databaseFor(route, `${route.method} ${route.path}`),
        event,
        afterCommit: (fn: () => Promise<unknown>) => committed.push(fn),
      } as unknown as HttpRequest<R>;
      const afterCommit = async () => {
        for (const fn of committed) {
          await fn().catch((error) => logger.error('after-commit work failed', { error }));
        }
      };
      const key = route.idempotent ? idempotencyKey(event) : undefined;
      if (key && caller) {
        const result = await respondOnce(route, key, caller, request, fn);
        await afterCommit();
        return result;
      }
      const { status, body, headers } = success(route, await fn(request));
      await afterCommit();
      return status === 304 ? { statusCode: 304, headers } : json(status, body, headers);
    });
}
