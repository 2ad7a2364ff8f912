import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../../test/api';
import { createShow, type Show } from '../../test/fixtures';
import { routes } from '../routes';
import { httpHandler } from './middleware';

let api: TestApi;
let show: Show;
let fan: string;

beforeAll(async () => {
  api = await createTestApi();
  show = await createShow(api.sql, { rows: 1, seatsPerRow: 5 });
  fan = await api.token('errors-fan');
});
afterAll(() => api.close());

const snapshot = async () =>
  (
    await api.sql`select (select count(*) from orders)::int as orders, (select count(*) from concerts)::int as concerts`
  )[0];

describe('bad input gets a 4xx problem document and changes nothing', () => {
  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const before = await snapshot();
    const res = await api.request('POST', '/orders', {
      token: fan,
      rawBody: '{"scheduleId": 1,',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: 400,
      detail: expect.any(String),
      code: 'MALFORMED_JSON',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('wrong content type → 415, oversized body → 413', async () => {
    const text = await api.request('POST', '/orders', {
      token: fan,
      rawBody: 'scheduleId=1',
      headers: { 'content-type': 'text/plain' },
    });
    const none = await api.request('POST', '/orders', { token: fan, rawBody: '{}' });
    const huge = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: 1, seatIds: [1], pad: 'x'.repeat(70_000) },
    });
    expect([text.status, text.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect([none.status, none.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect([huge.status, huge.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('schema violations → 400 VALIDATION_FAILED listing the bad fields', async () => {
    const res = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: 'one', seatIds: [-1, 1.5] },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(res.body.errors.every((e: { field: string }) => e.field.startsWith('body'))).toBe(true);
  });

  it('a client never sends a price: an order with a price field is refused', async () => {
    const res = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[0]], totalAmount: '1.00' },
    });
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('unknown and malformed ids → 404', async () => {
    const results = await Promise.all([
      api.request('GET', '/concerts/999999'),
      api.request('GET', '/concerts/abc'),
      api.request('GET', '/schedules/99999999999999999999999'),
      api.request('GET', '/schedules/0/seats'),
      api.request('GET', '/orders/123456', { token: fan }),
    ]);
    expect(results.map((r) => [r.status, r.body.code])).toEqual(Array(5).fill([404, 'NOT_FOUND']));
  });

  it('bad query parameters → 400', async () => {
    const results = await Promise.all([
      api.request('GET', '/concerts?limit=0'),
      api.request('GET', '/concerts?limit=1000'),
      api.request('GET', '/concerts?cursor=%%%'),
      api.request('GET', '/admin/reports/sales?groupBy=venue', { token: await api.adminToken() }),
    ]);
    expect(results.map((r) => r.status)).toEqual([400, 400, 400, 400]);
  });

  it('an unexpected error → 500 without internals', async () => {
    const broken = httpHandler(routes.health, async () => {
      throw new Error('password=hunter2 at /secret/path.ts');
    });
    const res = await broken(
      { rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET' } } } as never,
      { awsRequestId: 'req-1', functionName: 'health' } as never,
    );
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/hunter2|secret/);
    expect(JSON.parse(res.body!)).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
  });

  it('an error with a non-string code (a DOMException, say) → 500 problem document', async () => {
    const broken = httpHandler(routes.health, async () => {
      throw new DOMException('The operation timed out', 'TimeoutError'); // its code is the number 23
    });
    const res = await broken(
      { rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET' } } } as never,
      { awsRequestId: 'req-2', functionName: 'health' } as never,
    );
    expect(res.statusCode).toBe(500);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body!)).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
  });

  it('a database that is busy or restarting → 503 with Retry-After', async () => {
    const busy = httpHandler(routes.health, async () => {
      throw Object.assign(new Error('could not serialize access'), { code: '40001' });
    });
    const res = await busy(
      { rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET' } } } as never,
      { awsRequestId: 'req-3', functionName: 'health' } as never,
    );
    expect([res.statusCode, res.headers?.['retry-after']]).toEqual([503, '1']);
    expect(JSON.parse(res.body!)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
  });
});

describe('large responses', () => {
  it('gzips a big body for clients that accept it', async () => {
    const big = await createShow(api.sql, { rows: 20, seatsPerRow: 50 });
    const plain = await api.request('GET', `/schedules/${big.scheduleId}/seats`);
    const { handlerOf } = await import('../../local/handlers');
    const handler = handlerOf(routes.getSeatMap.handler) as (
      e: unknown,
      c: unknown,
    ) => Promise<{ body: string; headers: Record<string, string>; isBase64Encoded?: boolean }>;
    const zipped = await handler(
      {
        rawPath: '/x',
        headers: { 'accept-encoding': 'gzip, br' },
        pathParameters: { scheduleId: String(big.scheduleId) },
        requestContext: { http: { method: 'GET' } },
      },
      { awsRequestId: 'r' },
    );
    const { gunzipSync } = await import('node:zlib');

    expect(plain.body.seats).toHaveLength(1000);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(Buffer.from(zipped.body, 'base64')).toString())).toEqual(plain.body);
  });
});
