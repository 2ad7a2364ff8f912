import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeEntries } from '../../functions/routes';
import { createTestApi, type TestApi } from '../api';
import { createShow, type Show } from '../fixtures';

/** Who may do what: other people's orders do not exist for you; admin routes refuse customers. */
let api: TestApi;
let show: Show;
let owner: string;
let stranger: string;
let orderId: number;
let paymentId: number;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '4', MAX_SEATS_PER_ORDER: '4' });
  show = await createShow(api.sql, { rows: 4, seatsPerRow: 10, price: 300 });
  owner = await api.token('owner');
  stranger = await api.token('stranger');
  const order = await api.request('POST', '/orders', {
    token: owner,
    body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[0]] },
  });
  orderId = order.body.id;
  paymentId = (
    await api.request('POST', `/orders/${orderId}/payments`, { token: owner, body: { provider: 'card' } })
  ).body.id;
});
afterAll(() => api.close());

describe('access control', () => {
  it('answers 404 for every customer route on another user’s order, and changes nothing', async () => {
    const results = await Promise.all([
      api.request('GET', `/orders/${orderId}`, { token: stranger }),
      api.request('POST', `/orders/${orderId}/cancel`, { token: stranger }),
      api.request('POST', `/orders/${orderId}/payments`, { token: stranger, body: { provider: 'card' } }),
    ]);
    const mine = await api.request('GET', '/me/orders', { token: stranger });

    expect(results.map((r) => r.status)).toEqual([404, 404, 404]);
    expect(mine.body.items).toEqual([]);
    expect((await api.request('GET', `/orders/${orderId}`, { token: owner })).body.status).toBe(
      'awaiting_payment',
    );
  });

  it('answers 403 to a customer on every admin route and 401 without a token', async () => {
    const admin = routeEntries.filter(([, r]) => r.auth === 'admin');
    const customer = routeEntries.filter(([, r]) => r.auth === 'customer');
    const path = (p: string) => p.replace(/\{\w+\}/g, '1');

    const forbidden = await Promise.all(
      admin.map(([, r]) =>
        api.request(r.method, path(r.path), { token: owner, body: r.method === 'GET' ? undefined : {} }),
      ),
    );
    const anonymous = await Promise.all(
      [...admin, ...customer].map(([, r]) => api.request(r.method, path(r.path))),
    );

    expect(forbidden.map((r) => r.status)).toEqual(admin.map(() => 403));
    expect(anonymous.map((r) => r.status)).toEqual([...admin, ...customer].map(() => 401));
  });

  it('never applies a webhook event carrying another amount', async () => {
    const other = await api.request('POST', '/orders', {
      token: stranger,
      body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[1], show.seatIds[2]] },
    });
    // the stranger's order costs 600; an event claims the owner's 300 payment was paid 600
    await api.webhook('card', {
      eventId: 'x-amount',
      type: 'payment.succeeded',
      paymentId,
      pgTid: 't',
      amount: other.body.totalAmount,
      occurredAt: new Date().toISOString(),
    });
    await api.queue.drain();

    const [payment] = await api.sql`select status, flag from payments where id = ${paymentId}`;
    // never accepted: the charge is refunded and the payment closed, not booked
    expect(payment!.status).toBe('fail');
    expect(payment!.flag).toMatch(/^amount_mismatch/);
  });

  it('refuses a replayed webhook whose signature is older than 300 s', async () => {
    const event = {
      eventId: 'replay',
      type: 'payment.succeeded',
      paymentId,
      pgTid: 't',
      amount: '300.00',
      occurredAt: new Date().toISOString(),
    };
    const res = await api.webhook('card', event, 'test-secret', Math.floor(Date.now() / 1000) - 3600);
    expect([res.status, res.body.code]).toEqual([401, 'INVALID_SIGNATURE']);
  });
});

describe('abuse limits (OWASP API4, API6)', () => {
  it('bounds list sizes and request sizes', async () => {
    const page = await api.request('GET', '/concerts?limit=101');
    const seats = await api.request('POST', '/orders', {
      token: owner,
      body: { scheduleId: show.scheduleId, seatIds: Array.from({ length: 101 }, (_, i) => i + 1) },
    });
    const venue = await api.request('POST', '/admin/venues', {
      token: await api.adminToken(),
      body: {
        name: 'x',
        sections: [
          {
            section: 'A',
            rows: Array.from({ length: 200 }, (_, i) => ({
              rowLabel: `R${i}`,
              seats: 2000,
              seatType: 's',
              basePrice: 1,
            })),
          },
        ],
      },
    });
    expect([page.status, seats.status, venue.status]).toEqual([400, 400, 400]);
  });

  it('answers 400 problem details to strings and lists over their documented limits', async () => {
    const admin = await api.adminToken();
    // valid ISO-8601 apart from the length: 40 characters pass, 41 do not
    const timestamp = (length: number) => `2026-12-24T10:00:00.${'0'.repeat(length - 21)}Z`;
    const within = await api.request('GET', `/admin/reports/sales?groupBy=genre&from=${timestamp(40)}`, {
      token: admin,
    });
    const over = await Promise.all([
      api.request('GET', `/admin/reports/sales?groupBy=genre&from=${timestamp(41)}`, { token: admin }),
      api.request('POST', '/admin/schedules', {
        token: admin,
        body: { concertId: 1, venueId: 1, startAt: timestamp(41), endAt: timestamp(41) },
      }),
      api.request('POST', '/admin/concerts', { token: admin, body: { title: 'x'.repeat(201), artist: 'a' } }),
      api.request('GET', `/concerts?q=${'x'.repeat(201)}`),
      api.request('POST', '/orders', {
        token: owner,
        body: { scheduleId: show.scheduleId, quantity: 1, maxPrice: '12345678901.00' },
      }),
      api.request('POST', `/orders/${orderId}/cancel`, {
        token: owner,
        body: { itemIds: Array.from({ length: 101 }, (_, i) => i + 1) },
      }),
      api.request('POST', '/orders', {
        token: owner,
        headers: { 'idempotency-key': 'k'.repeat(201) },
        body: { scheduleId: show.scheduleId, quantity: 1 },
      }),
    ]);

    expect(within.status).toBe(200);
    expect(over.map((r) => [r.status, r.headers['content-type'], r.body.code])).toEqual(
      Array(over.length).fill([400, 'application/problem+json', 'VALIDATION_FAILED']),
    );
    expect(over.slice(0, 2).map((r) => r.body.errors.map((e: { field: string }) => e.field))).toEqual([
      ['query.from'],
      expect.arrayContaining(['body.startAt', 'body.endAt']),
    ]);
  });

  it('cannot lock a whole schedule from one account, however it asks', async () => {
    const hog = await api.token('hog');
    const attempts = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 3 === 0
          ? api.request('POST', '/orders', { token: hog, body: { scheduleId: show.scheduleId, quantity: 4 } })
          : api.request('POST', '/orders', {
              token: hog,
              body: { scheduleId: show.scheduleId, seatIds: show.seatIds.slice(10 + i * 2, 12 + i * 2) },
            }),
      ),
    );

    expect(attempts.filter((r) => r.status >= 500)).toEqual([]);
    const [row] = await api.sql`
      select count(*)::int as n from order_items oi join orders o on o.id = oi.order_id join users u on u.id = o.user_id
      where u.sub = 'hog' and oi.status = 'held'`;
    expect(row!.n).toBeLessThanOrEqual(4);
  });
});
