import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, invariantViolations, type Show } from '../test/fixtures';

/** POST /orders/{id}/extend (API.md, "Second chances"): a little more time, once, before paying. */
let api: TestApi;
let show: Show;
let fan: string;
let nextSeat = 0;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '1000', HOLD_EXTENSION_SECONDS: '120' });
  show = await createShow(api.sql, { rows: 4, seatsPerRow: 20, price: 10000 });
  fan = await api.token('extender');
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

async function hold(n = 2, token = fan) {
  const seatIds = show.seatIds.slice(nextSeat, nextSeat + n);
  nextSeat += n;
  const res = await api.request('POST', '/orders', { token, body: { scheduleId: show.scheduleId, seatIds } });
  expect(res.status).toBe(201);
  return res.body as { id: number; holdExpiresAt: string };
}
const extend = (orderId: number, token = fan) => api.request('POST', `/orders/${orderId}/extend`, { token });
const seatDeadlines = async (orderId: number) =>
  (
    await api.sql`select hold_expires_at as at from schedule_seats where order_id = ${orderId} order by id`
  ).map((r) => (r.at as Date).toISOString());

describe('POST /orders/{orderId}/extend', () => {
  it('moves the hold and its seats’ deadline by HOLD_EXTENSION_SECONDS, once', async () => {
    const order = await hold();

    const res = await extend(order.id);

    expect(res.status).toBe(200);
    expect(Date.parse(res.body.holdExpiresAt) - Date.parse(order.holdExpiresAt)).toBe(120_000);
    expect(await seatDeadlines(order.id)).toEqual([res.body.holdExpiresAt, res.body.holdExpiresAt]);
    const again = await extend(order.id);
    expect([again.status, again.body.code]).toEqual([409, 'EXTENSION_USED']);
  });

  it('refuses a lapsed hold, an order whose payment started, and a cancelled order — changing nothing', async () => {
    const lapsed = await hold(1);
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${lapsed.id}`;
    const paying = await hold(1);
    await api.request('POST', `/orders/${paying.id}/payments`, { token: fan, body: { provider: 'card' } });
    const cancelled = await hold(1);
    await api.request('POST', `/orders/${cancelled.id}/cancel`, { token: fan });
    const payingBefore = await seatDeadlines(paying.id);

    const results = await Promise.all([extend(lapsed.id), extend(paying.id), extend(cancelled.id)]);

    expect(results.map((r) => [r.status, r.body.code])).toEqual([
      [409, 'ORDER_EXPIRED'],
      [409, 'ORDER_NOT_PAYABLE'],
      [409, 'ORDER_NOT_PAYABLE'],
    ]);
    // the payment deadline is counted once (issue 14, hole 1): an extension never moves it
    expect(await seatDeadlines(paying.id)).toEqual(payingBefore);
  });

  it('is another fan’s order: 404', async () => {
    const order = await hold(1);
    const res = await extend(order.id, await api.token('someone-else'));
    expect(res.status).toBe(404);
  });

  it('extends once even when asked twice at the same moment', async () => {
    const order = await hold(1);

    const results = await Promise.all([extend(order.id), extend(order.id)]);

    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const [row] = await api.sql`select hold_expires_at as at from orders where id = ${order.id}`;
    expect(Date.parse((row!.at as Date).toISOString()) - Date.parse(order.holdExpiresAt)).toBe(120_000);
  });
});
