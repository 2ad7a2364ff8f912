import type { MiddlewareObj } from '@middy/core';
import { getSql } from '../../../db/client';
import { ensureUser } from '../../../db/users';
import { AppError } from '../../../domain/errors';
import type { RouteDef } from '../../routes';
import type { HttpContext, HttpEvent, HttpResult } from '../middleware';

type Middleware = MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext>;

/**
 * Who is calling, and may they call this route. The token's signature, issuer, audience and expiry
 * were checked by API Gateway's JWT authorizer (locally: by the local gateway, the same way); here
 * only its claims are read. Runs before parsing: a stranger learns nothing about validation.
 */
export function authorize(route: RouteDef): Middleware {
  const needsToken = route.auth === 'customer' || route.auth === 'admin';
  return {
    before: (request) => {
      request.context.tokenIdentity = needsToken ? identify(route, request.event) : undefined;
    },
  };
}

function identify(route: RouteDef, event: HttpEvent): NonNullable<HttpContext['tokenIdentity']> {
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
function groupsOf(claims: Record<string, unknown> | undefined): string[] {
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

/**
 * The authorized identity becomes `context.caller`, with the id of its `users` row (created on
 * first sight). Runs after parsing, so a request refused as bad input costs no database round trip.
 * A route that needs only the identity (`identityOnly`) gets no caller, and costs nothing here.
 */
export function upsertCaller(route: RouteDef): Middleware {
  return {
    before: async (request) => {
      const identity = route.identityOnly ? undefined : request.context.tokenIdentity;
      request.context.caller = identity && { ...identity, id: await ensureUser(getSql(), identity) };
    },
  };
}
