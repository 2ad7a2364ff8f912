import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../functions/adapters/pg-webhooks';
import { routeEntries } from '../../functions/routes';
import { createTestApi, type TestApi } from '../api';
import { createShow } from '../fixtures';

/**
 * Every route, fed garbage: wrong types, huge and negative numbers, unicode, long strings, deep
 * nesting, missing and extra fields, SQL-looking strings, wrong content types, odd path values.
 * The answer is always a 4xx problem document, never a 5xx, and nothing is written.
 */
let api: TestApi;
let fan: string;
let admin: string;
const RUNS_PER_ROUTE = 60;

beforeAll(async () => {
  api = await createTestApi();
  await createShow(api.sql, { rows: 2, seatsPerRow: 5 });
  fan = await api.token('fuzzer');
  admin = await api.adminToken();
});
afterAll(() => api.close());

const nasty = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(
    "'; drop table orders; --",
    '1 or 1=1',
    '{{7*7}}',
    '\u0000',
    '../../etc/passwd',
    '%',
    '%%',
    '💺🎫',
    'NaN',
    '-1',
    '0',
    '1e309',
    '9'.repeat(40),
  ),
  fc.string({ minLength: 5000, maxLength: 6000 }),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nasty,
    fc.integer(),
    fc.double(),
    fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -1, 0, 2 ** 63, 1e300),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('any'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom(
        'scheduleId',
        'seatIds',
        'quantity',
        'provider',
        'itemIds',
        'title',
        'artist',
        'sections',
        'status',
        'prices',
        'sub',
        'admin',
        'eventId',
        'amount',
        'x',
      ),
      tie('any'),
      { maxKeys: 5 },
    ),
  ),
})).any;

const pathValue = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('-1', '0', 'abc', '1.5', '99999999999999999999999', '%20', '1;2', "1'"),
  fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  undefined,
);

const snapshot = async () =>
  JSON.stringify(
    await api.sql`
      select (select count(*) from orders) as orders, (select count(*) from order_items) as items,
             (select count(*) from payments) as payments, (select count(*) from concerts) as concerts,
             (select count(*) from venues) as venues, (select count(*) from schedules) as schedules,
             (select coalesce(sum(version), 0) from schedule_seats) as versions, (select count(*) from outbox) as events`,
  );

describe('fuzzing every route', () => {
  for (const [name, route] of routeEntries) {
    if (route.auth === 'local') continue;
    it(`${route.method} ${route.path} never answers 5xx and writes nothing on 4xx`, async () => {
      let inputsTried = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            body: value,
            params: fc.array(pathValue, { minLength: 3, maxLength: 3 }),
            type: contentType,
            query: fc.dictionary(
              fc.constantFrom('limit', 'cursor', 'genre', 'q', 'groupBy', 'from', 'to'),
              nasty,
              { maxKeys: 3 },
            ),
          }),
          async (input) => {
            inputsTried++;
            let i = 0;
            const path = route.path.replace(/\{\w+\}/g, () => input.params[i++]!);
            const qs = new URLSearchParams(input.query as Record<string, string>).toString();
            const raw = JSON.stringify(input.body) ?? 'null';
            const headers: Record<string, string> = {};
            if (input.type) headers['content-type'] = input.type;
            if (route.auth === 'webhook') headers['pg-signature'] = sign('test-secret', raw);
            const before = await snapshot();
            const res = await api.request(route.method, `${path}${qs ? `?${qs}` : ''}`, {
              token: route.auth === 'admin' ? admin : fan,
              rawBody: route.method === 'GET' ? undefined : raw,
              headers,
            });
            expect(res.status, `${name} ${raw.slice(0, 200)}`).toBeLessThan(500);
            if (res.status >= 400) {
              expect(res.headers['content-type']).toBe('application/problem+json');
              expect(res.body.code).toMatch(/^[A-Z_]+$/);
              if (route.auth !== 'webhook') expect(await snapshot()).toBe(before);
            }
          },
        ),
        { numRuns: RUNS_PER_ROUTE },
      );
      expect(inputsTried).toBeGreaterThanOrEqual(RUNS_PER_ROUTE);
    });
  }

  it('refuses a 1 MB body, deeply nested JSON and binary bodies with 4xx', async () => {
    const big = await api.request('POST', '/orders', {
      token: fan,
      rawBody: `{"x":"${'a'.repeat(1_048_576)}"}`,
      headers: { 'content-type': 'application/json' },
    });
    const deep = await api.request('POST', '/orders', {
      token: fan,
      rawBody: `${'['.repeat(5000)}${']'.repeat(5000)}`,
      headers: { 'content-type': 'application/json' },
    });
    const deepField = await api.request('POST', '/admin/concerts', {
      token: admin,
      rawBody: `{"title":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)},"artist":"x"}`,
      headers: { 'content-type': 'application/json' },
    });
    const binary = await api.request('POST', '/orders', {
      token: fan,
      rawBody: '\u0000\u00ff\u0001',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect([big.status, deep.status, deepField.status, binary.status]).toEqual([413, 400, 400, 415]);
  });
});
