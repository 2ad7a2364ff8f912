import type { MiddlewareObj } from '@middy/core';
import type * as z from 'zod/mini';
import { AppError, parseJson, parseWith } from '../../../domain/errors';
import type { RouteDef } from '../../routes';
import type { HttpContext, HttpEvent, HttpResult } from '../middleware';

const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * Checks what the caller sent against the route's schemas — path, query, headers, then body (its size,
 * content type and JSON) — and leaves the parsed values on `context.input`. Every failure is a 4xx
 * thrown before the handler runs, so bad input never reaches the domain.
 */
export function parseRequest(route: RouteDef): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    before: (request) => {
      request.context.input = parse(route, request.event);
    },
  };
}

function parse(route: RouteDef, event: HttpEvent): NonNullable<HttpContext['input']> {
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
  const headers = route.headers
    ? validate(
        route.headers,
        Object.fromEntries(
          Object.keys(route.headers.shape).map((name) => [name, header(event, name.toLowerCase())]),
        ),
        'header',
      )
    : undefined;
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
  return { params, query, headers, body, rawBody };
}

function validate(schema: z.ZodMiniType, value: unknown, where: 'path' | 'query' | 'header' | 'body') {
  if (where !== 'path') return parseWith(schema, value, where);
  try {
    return parseWith(schema, value, where);
  } catch (error) {
    // A malformed id names nothing that exists.
    throw new AppError('NOT_FOUND', 'No such resource', (error as AppError).extensions);
  }
}

/** A request header by name, whatever its case (API Gateway lowercases them; tests may not). */
export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const found = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return found ? headers[found] : undefined;
}
