import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { backgroundEntries } from '../functions/background';
import type { HttpEvent } from '../functions/http/middleware';
import { routeEntries } from '../functions/routes';
import { dispatch, loadRoutes, toEvent } from './gateway';
import { initLocalIssuer, issueToken, LOCAL_AUDIENCE, verifyToken } from './jwt';

const ISSUER = 'http://localhost:3000';
let routes: ReturnType<typeof loadRoutes>;

beforeAll(async () => {
  await initLocalIssuer(ISSUER);
  routes = loadRoutes();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  dispatch(routes, { method: 'GET', url, headers, body: Buffer.alloc(0) });

describe('route table', () => {
  it('has a handler export for every route and a source file for every Lambda entry', () => {
    expect(routes).toHaveLength(routeEntries.length);
    for (const [, fn] of [...routeEntries, ...backgroundEntries]) {
      expect(existsSync(join(__dirname, '..', 'functions', `${fn.handler.file}.ts`))).toBe(true);
    }
  });
});

describe('event mapping (API Gateway HTTP API, payload 2.0)', () => {
  it('maps path and query parameters, headers and the route key', () => {
    const event = toEvent(
      {
        method: 'GET',
        url: '/concerts/42?genre=rock&tag=a&tag=b',
        headers: { 'X-Trace': 'abc', Accept: 'application/json' },
        body: Buffer.alloc(0),
      },
      { name: 'getConcert', path: '/concerts/{concertId}', method: 'GET' },
      { concertId: '42' },
    );

    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('GET /concerts/{concertId}');
    expect(event.rawPath).toBe('/concerts/42');
    expect(event.rawQueryString).toBe('genre=rock&tag=a&tag=b');
    expect(event.pathParameters).toEqual({ concertId: '42' });
    expect(event.queryStringParameters).toEqual({ genre: 'rock', tag: 'a,b' });
    expect(event.headers).toMatchObject({ 'x-trace': 'abc', accept: 'application/json' });
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.body).toBeUndefined();
  });

  it('passes JSON bodies as text and binary bodies base64-encoded', () => {
    const route = { name: 'x', path: '/x', method: 'POST' };
    const json = toEvent(
      {
        method: 'POST',
        url: '/x',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"a":"한글"}'),
      },
      route,
      {},
    );
    const binary = toEvent(
      {
        method: 'POST',
        url: '/x',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 255, 1]),
      },
      route,
      {},
    );

    expect(json).toMatchObject({ body: '{"a":"한글"}', isBase64Encoded: false });
    expect(binary).toMatchObject({
      body: Buffer.from([0, 255, 1]).toString('base64'),
      isBase64Encoded: true,
    });
  });

  it('passes verified claims the way the JWT authorizer does (arrays flattened)', async () => {
    let seen: Record<string, string> | undefined;
    const spy = [
      {
        ...routes.find((r) => r.name === 'listMyOrders')!,
        handler: async (e: HttpEvent) => {
          seen = e.requestContext.authorizer.jwt.claims as Record<string, string>;
          return { statusCode: 200 };
        },
      },
    ];
    const token = await issueToken({ sub: 'u-1', admin: true, email: 'a@b.c' });

    await dispatch(spy as never, {
      method: 'GET',
      url: '/me/orders',
      headers: { authorization: `Bearer ${token}` },
      body: Buffer.alloc(0),
    });

    expect(seen).toMatchObject({
      sub: 'u-1',
      'cognito:groups': '[admin]',
      email: 'a@b.c',
      iss: ISSUER,
      aud: LOCAL_AUDIENCE,
    });
  });
});

describe('bearer tokens', () => {
  const unauthorized = async (authorization?: string) => {
    const res = await get('/me/orders', authorization ? { authorization } : {});
    return [res.statusCode, JSON.parse(res.body!).code, res.headers?.['content-type']];
  };
  const expected = [401, 'UNAUTHORIZED', 'application/problem+json'];

  it('refuses a missing or malformed Authorization header', async () => {
    expect(await unauthorized()).toEqual(expected);
    expect(await unauthorized('Basic abc')).toEqual(expected);
    expect(await unauthorized('Bearer not.a.jwt')).toEqual(expected);
  });

  it('refuses an expired token', async () => {
    expect(await unauthorized(`Bearer ${await issueToken({ sub: 'a', expiresIn: -10 })}`)).toEqual(expected);
  });

  it('remembers a verified token only until it expires, and only under the key that signed it', async () => {
    const brief = await issueToken({ sub: 'brief', expiresIn: 2 });
    expect((await verifyToken(brief))?.sub).toBe('brief');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 5_000);
      expect(await verifyToken(brief)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }

    const before = await issueToken({ sub: 'before' });
    expect((await verifyToken(before))?.sub).toBe('before');
    await initLocalIssuer(ISSUER);
    expect(await verifyToken(before)).toBeUndefined();
  });

  it('refuses a token signed by another key, with HS256 or with alg none', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    expect((await exportJWK(publicKey)).kty).toBe('RSA');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'local-1' })
      .setSubject('a')
      .setIssuer(ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setExpirationTime('1h')
      .sign(privateKey);
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setIssuer(ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'a', iss: ISSUER, aud: LOCAL_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;

    expect(await unauthorized(`Bearer ${forged}`)).toEqual(expected);
    expect(await unauthorized(`Bearer ${hs256}`)).toEqual(expected);
    expect(await unauthorized(`Bearer ${none}`)).toEqual(expected);
  });

  it('refuses our own key with the wrong issuer or audience', async () => {
    const wrongAudience = await issueToken({ sub: 'a', audience: 'someone-else' });
    const wrongIssuer = await issueToken({ sub: 'a', issuer: 'https://evil.example' });
    expect(await unauthorized(`Bearer ${wrongAudience}`)).toEqual(expected);
    expect(await unauthorized(`Bearer ${wrongIssuer}`)).toEqual(expected);
  });

  it('answers 403 to a customer on an admin route', async () => {
    const token = await issueToken({ sub: 'not-admin' });
    const res = await dispatch(routes, {
      method: 'POST',
      url: '/admin/concerts',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: Buffer.from('{"title":"x","artist":"y"}'),
    });
    // the handler needs the database only after the role check: 403 comes first
    expect([res.statusCode, JSON.parse(res.body!).code]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('unknown routes and methods', () => {
  it('answers 404 problem+json for an unknown path and 405 with Allow for a wrong method', async () => {
    const missing = await get('/nope');
    const wrongMethod = await dispatch(routes, {
      method: 'DELETE',
      url: '/concerts',
      headers: {},
      body: Buffer.alloc(0),
    });

    expect([missing.statusCode, JSON.parse(missing.body!).code]).toEqual([404, 'NOT_FOUND']);
    expect([wrongMethod.statusCode, JSON.parse(wrongMethod.body!).code, wrongMethod.headers?.allow]).toEqual([
      405,
      'METHOD_NOT_ALLOWED',
      'GET',
    ]);
  });

  it('never serves /dev routes from the deployed route set', async () => {
    const { deployedRoutes } = await import('../functions/routes');
    expect(deployedRoutes.some(([, r]) => r.path.startsWith('/dev'))).toBe(false);
  });
});
