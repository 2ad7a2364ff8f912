import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import { AppError } from '../domain/errors';
import type { HttpEvent, HttpResult } from '../functions/http/middleware';
import { problem } from '../functions/http/responses';
import { type Auth, type RouteDef, routeEntries } from '../functions/routes';
import { handlerOf } from './handlers';
import { verifyToken } from './jwt';

/**
 * The local stand-in for API Gateway (HTTP API, payload format 2.0): matches a route of the shared
 * route table, checks the bearer token the way the JWT authorizer does, turns the request into the
 * same event Lambda receives and calls the same handler.
 */
export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

interface CompiledRoute {
  name: string;
  route: RouteDef;
  pattern: RegExp;
  keys: string[];
  handler: LambdaHttpHandler;
}

/** API Gateway's own limit is 10 MB; Lambda's is 6 MB. */
const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
const JWT_ROUTES: Auth[] = ['customer', 'admin'];

export function loadRoutes(include: (auth: Auth) => boolean = () => true): CompiledRoute[] {
  const compiled: CompiledRoute[] = [];
  for (const [name, route] of routeEntries) {
    if (!include(route.auth)) continue;
    const handler = handlerOf(route.handler) as LambdaHttpHandler | undefined;
    if (!handler) throw new Error(`${route.handler.file} does not export ${route.handler.export}`);
    const keys: string[] = [];
    const source = route.path.replace(/\{(\w+)\}/g, (_, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    compiled.push({ name, route, pattern: new RegExp(`^${source}$`), keys, handler });
  }
  return compiled;
}

export interface IncomingHttp {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp?: string;
}

/** Maps an HTTP request onto an API Gateway v2 event (exported for tests). */
export function toEvent(
  request: IncomingHttp,
  route: { name: string; path: string; method: string },
  pathParameters: Record<string, string>,
  claims?: Record<string, string>,
): HttpEvent {
  const url = new URL(request.url, 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const contentType = headers['content-type'] ?? '';
  const textual =
    request.body.length === 0 ||
    /^(text\/|application\/(.+\+)?json|application\/x-www-form-urlencoded)/i.test(contentType);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: headers.cookie?.split(/;\s*/),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: claims ?? {}, scopes: [] } },
    },
    body: request.body.length ? request.body.toString(textual ? 'utf8' : 'base64') : undefined,
    isBase64Encoded: !textual,
  } as HttpEvent;
}

/** API Gateway passes claims as strings; arrays become "[a b]". */
function flattenClaims(payload: Record<string, unknown>): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined) continue;
    claims[k] = Array.isArray(v) ? `[${v.join(' ')}]` : String(v);
  }
  return claims;
}

function lambdaContext(name: string, requestId: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** One request through the gateway: route match, authorizer, handler. */
export async function dispatch(routes: CompiledRoute[], request: IncomingHttp): Promise<HttpResult> {
  const path = new URL(request.url, 'http://localhost').pathname;
  const matches = routes.flatMap((r) => {
    const m = r.pattern.exec(path);
    return m ? [{ r, m }] : [];
  });
  if (matches.length === 0) return problem(new AppError('NOT_FOUND', `No route for ${path}`));
  const match = matches.find(({ r }) => r.route.method === request.method);
  if (!match) {
    const allow = [...new Set(matches.map(({ r }) => r.route.method))].join(', ');
    return problem(new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here`), {
      headers: { allow },
    });
  }
  if (request.body.length > MAX_REQUEST_BYTES)
    return problem(new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large'));

  const { r, m } = match;
  const pathParameters: Record<string, string> = {};
  r.keys.forEach((key, i) => {
    pathParameters[key] = decodeURIComponent(m[i + 1]!);
  });

  let claims: Record<string, string> | undefined;
  if (JWT_ROUTES.includes(r.route.auth)) {
    const authorization = request.headers.authorization;
    const token =
      typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
    const payload = token ? await verifyToken(token) : undefined;
    if (!payload)
      return problem(new AppError('UNAUTHORIZED', 'A valid bearer token is required'), {
        headers: { 'www-authenticate': 'Bearer' },
      });
    claims = flattenClaims(payload as Record<string, unknown>);
  }
  const event = toEvent(
    request,
    { name: r.name, path: r.route.path, method: r.route.method },
    pathParameters,
    claims,
  );
  return r.handler(event, lambdaContext(r.name, event.requestContext.requestId));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // keep counting, stop keeping: dispatch answers 413 without buffering a huge body
      if (size <= MAX_REQUEST_BYTES + 1) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export type ExtraHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createGateway(routes: CompiledRoute[], extra?: ExtraHandler): Server {
  return createServer(async (req, res) => {
    try {
      if (extra?.(req, res)) return;
      const body = await readBody(req);
      const result = await dispatch(routes, {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
        sourceIp: req.socket.remoteAddress,
      });
      const bodyOut = result.body ?? '';
      res.writeHead(result.statusCode ?? 200, (result.headers ?? {}) as Record<string, string>);
      res.end(result.isBase64Encoded ? Buffer.from(bodyOut, 'base64') : bodyOut);
    } catch (error) {
      // handlers answer their own errors; this is the gateway's "internal server error"
      console.error(error);
      const result = problem(new AppError('INTERNAL_ERROR', 'The gateway could not complete the request'));
      res.writeHead(500, result.headers as Record<string, string>);
      res.end(result.body);
    }
  });
}
