import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../domain/sweeper';
import { createTestApi, type TestApi } from '../../test/api';
import { createShow, invariantViolations, type Show } from '../../test/fixtures';

/**
 * The cancellation wait-list through the API (API.md "Second chances"): joining, the limits, and
 * offers of freed seats — in entry order, filters respected, lapsing and moving on, paid as orders.
 */
let api: TestApi;
let admin: string;
let fans = 0;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '6', MAX_SEATS_PER_ORDER: '4', OFFER_TTL_SECONDS: '600' });
  admin = await api.adminToken();
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

const newFan = () => api.token(`waitlist-fan-${++fans}`);

/** A show of `rows` × `perRow` seats with its wait-list on, every seat sold to one buyer per row. */
async function soldOutShow(rows = 2, perRow = 4) {
  const show = await createShow(api.sql, { rows, seatsPerRow: perRow });
  const on = await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
    token: admin,
    body: { waitlist: { enabled: true } },
  });
  expect(on.status).toBe(200);
  expect(on.body.waitlist).toEqual({ enabled: true });
  const buyers: { token: string; orderId: number; itemIds: number[] }[] = [];
  for (const seatIds of Object.values(show.rows)) {
    const token = await newFan();
    const res = await api.request('POST', '/orders', {
      token,
      body: { scheduleId: show.scheduleId, seatIds },
    });
    expect(res.status).toBe(201);
    buyers.push({ token, orderId: res.body.id, itemIds: res.body.items.map((i: { id: number }) => i.id) });
  }
  return { show, buyers };
}

const join = (token: string, show: Show, body: Record<string, unknown>) =>
  api.request('POST', `/schedules/${show.scheduleId}/waitlist`, { token, body });
const entry = async (token: string, id: number) =>
  (await api.request('GET', `/waitlist/${id}`, { token })).body;
const cancel = (token: string, orderId: number, itemIds?: number[]) =>
  api.request('POST', `/orders/${orderId}/cancel`, { token, body: itemIds ? { itemIds } : {} });

describe('joining', () => {
  it('gives a waiting entry with its position; one live entry per fan and schedule', async () => {
    const { show } = await soldOutShow();
    const first = await newFan();
    const second = await newFan();

    const a = await join(first, show, { quantity: 2 });
    const b = await join(second, show, { quantity: 1 });
    const again = await join(first, show, { quantity: 1 });

    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ status: 'waiting', position: 1, quantity: 2, orderId: null });
    expect(b.body).toMatchObject({ status: 'waiting', position: 2 });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ALREADY_WAITLISTED');
    const mine = await api.request('GET', '/me/waitlist', { token: first });
    expect(mine.body.items.map((e: { id: number }) => e.id)).toEqual([a.body.id]);
    const schedule = await api.request('GET', `/schedules/${show.scheduleId}`);
    expect(schedule.body.waitlist).toEqual({ enabled: true });
  });

  it('is refused with a clear problem when the wait-list is off, the schedule cancelled or started', async () => {
    const fan = await newFan();
    const off = await createShow(api.sql);
    const started = await soldOutShow(1, 2);
    await api.sql`update schedules set start_at = now() - interval '1 minute' where id = ${started.show.scheduleId}`;
    const cancelled = await soldOutShow(1, 2);
    await api.request('PATCH', `/admin/schedules/${cancelled.show.scheduleId}`, {
      token: admin,
      body: { status: 'cancelled' },
    });

    expect((await join(fan, off, { quantity: 1 })).body.code).toBe('WAITLIST_OFF');
    expect((await join(fan, started.show, { quantity: 1 })).body.code).toBe('SCHEDULE_STARTED');
    expect((await join(fan, cancelled.show, { quantity: 1 })).body.code).toBe('SCHEDULE_CANCELLED');
    expect((await join(fan, { ...off, scheduleId: 999_999 }, { quantity: 1 })).status).toBe(404);
  });

  it('keeps the quantity within the per-order and per-user limits', async () => {
    const { show, buyers } = await soldOutShow(2, 4);

    const tooMany = await join(await newFan(), show, { quantity: 5 });
    // the first buyer owns 4 of their 6
    const overLimit = await join(buyers[0]!.token, show, { quantity: 3 });

    expect(tooMany.status).toBe(422);
    expect(tooMany.body.code).toBe('SEAT_LIMIT_EXCEEDED');
    expect(overLimit.status).toBe(422);
    expect(overLimit.body.code).toBe('SEAT_LIMIT_EXCEEDED');
  });

  it('closes the entries of a cancelled or started schedule', async () => {
    const { show } = await soldOutShow(1, 2);
    const fan = await newFan();
    const joined = await join(fan, show, { quantity: 1 });

    await api.sql`update schedules set start_at = now() - interval '1 minute' where id = ${show.scheduleId}`;

    expect(await entry(fan, joined.body.id)).toMatchObject({ status: 'closed', position: null });
  });
});

describe('offers', () => {
  it('go to the first entry the freed seats fit, with their own deadline, before public sale', async () => {
    const { show, buyers } = await soldOutShow(2, 4);
    const wantsFour = await newFan();
    const wantsTwo = await newFan();
    const wantsTwoToo = await newFan();
    const e4 = (await join(wantsFour, show, { quantity: 4 })).body;
    const e2 = (await join(wantsTwo, show, { quantity: 2 })).body;
    const e2b = (await join(wantsTwoToo, show, { quantity: 2 })).body;

    // two adjacent seats come free: too few for the first entry, right for the second
    const before = Date.now();
    const res = await cancel(buyers[0]!.token, buyers[0]!.orderId, buyers[0]!.itemIds.slice(0, 2));
    expect(res.status).toBe(200);

    expect(await entry(wantsFour, e4.id)).toMatchObject({ status: 'waiting', position: 1 });
    const offered = await entry(wantsTwo, e2.id);
    expect(offered).toMatchObject({ status: 'offered', position: null });
    expect(await entry(wantsTwoToo, e2b.id)).toMatchObject({ status: 'waiting', position: 2 });
    const order = (await api.request('GET', `/orders/${offered.orderId}`, { token: wantsTwo })).body;
    expect(order).toMatchObject({ status: 'created', offer: true });
    expect(order.items.map((i: { seatId: number }) => i.seatId)).toEqual(show.rows.R001!.slice(0, 2));
    const deadline = Date.parse(order.holdExpiresAt);
    expect(deadline).toBeGreaterThanOrEqual(before + 599_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 601_000);
    // nothing went back on public sale
    const availability = await api.request('GET', `/schedules/${show.scheduleId}/availability`);
    expect(availability.body.available).toBe(0);
    await api.pump();
    expect(api.published.filter((e) => e.detailType === 'waitlist.offered').at(-1)?.detail).toMatchObject({
      entryId: e2.id,
      orderId: order.id,
    });
  });

  it('respect the filters of an entry', async () => {
    const { show, buyers } = await soldOutShow(1, 4);
    const picky = await newFan();
    const easy = await newFan();
    const p = (await join(picky, show, { quantity: 1, maxPrice: 50 })).body;
    const e = (await join(easy, show, { quantity: 1, section: 'A' })).body;

    await cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[3]!]);

    expect((await entry(picky, p.id)).status).toBe('waiting');
    expect((await entry(easy, e.id)).status).toBe('offered');
  });

  it('lapse when not paid in time and pass on to the next entry', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const first = await newFan();
    const second = await newFan();
    const a = (await join(first, show, { quantity: 2 })).body;
    const b = (await join(second, show, { quantity: 2 })).body;
    await cancel(buyers[0]!.token, buyers[0]!.orderId);
    const offer = await entry(first, a.id);
    expect(offer.status).toBe('offered');
    const extend = await api.request('POST', `/orders/${offer.orderId}/extend`, { token: first, body: {} });
    expect(extend.status).toBe(409);

    await api.sql`update orders set hold_expires_at = now() - interval '1 second' where id = ${offer.orderId}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 second' where order_id = ${offer.orderId}`;
    const swept = await sweep(api.sql);

    expect(swept.offers).toBe(1);
    expect(await entry(first, a.id)).toMatchObject({ status: 'lapsed', orderId: offer.orderId });
    expect((await entry(second, b.id)).status).toBe('offered');
    await api.pump();
    expect(api.published.some((e) => e.detailType === 'waitlist.lapsed' && e.detail.entryId === a.id)).toBe(
      true,
    );
  });

  it('are paid like any order, and the entry is accepted', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const fan = await newFan();
    const joined = (await join(fan, show, { quantity: 1 })).body;
    await cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[0]!]);
    const { orderId } = await entry(fan, joined.id);

    const payment = await api.request('POST', `/orders/${orderId}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    expect(payment.status).toBe(201);
    await api.webhook('card', {
      eventId: `wl-${orderId}`,
      type: 'payment.succeeded',
      paymentId: payment.body.id,
      pgTid: `tid-${orderId}`,
      amount: payment.body.amount,
      occurredAt: new Date().toISOString(),
    });
    await api.settle();

    expect((await api.request('GET', `/orders/${orderId}`, { token: fan })).body.status).toBe('paid');
    expect((await entry(fan, joined.id)).status).toBe('accepted');
  });

  it('count toward the per-user limit: a fan over it is passed over and keeps the place', async () => {
    const { show, buyers } = await soldOutShow(2, 4);
    // the second buyer owns 4 of 6: an entry for 3 (joined before they bought) cannot be served
    const [{ userId }] = await api.sql<[{ userId: number }]>`
      select user_id as "userId" from orders where id = ${buyers[1]!.orderId}`;
    const [{ id: overId }] = await api.sql<[{ id: number }]>`
      insert into waitlist_entries (schedule_id, user_id, quantity) values (${show.scheduleId}, ${userId}, 3)
      returning id`;
    const third = buyers[1]!;
    const next = await newFan();
    const entryOfNext = (await join(next, show, { quantity: 4 })).body;

    await cancel(buyers[0]!.token, buyers[0]!.orderId);

    expect(await entry(third.token, overId)).toMatchObject({ status: 'waiting', position: 1 });
    const offered = await entry(next, entryOfNext.id);
    expect(offered.status).toBe('offered');
    // the offer counts: 4 offered + 3 more would pass the limit of 6
    const more = await api.request('POST', '/orders', {
      token: next,
      body: { scheduleId: show.scheduleId, quantity: 3 },
    });
    expect(more.status).toBe(422);
    expect(more.body.code).toBe('SEAT_LIMIT_EXCEEDED');
  });

  it('are declined by leaving: the seats pass on; another fan cannot see or leave the entry', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const first = await newFan();
    const second = await newFan();
    const a = (await join(first, show, { quantity: 1 })).body;
    const b = (await join(second, show, { quantity: 1 })).body;
    await cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[0]!]);

    expect((await api.request('DELETE', `/waitlist/${a.id}`, { token: second })).status).toBe(404);
    const left = await api.request('DELETE', `/waitlist/${a.id}`, { token: first });

    expect(left.status).toBe(200);
    expect(left.body.status).toBe('declined');
    expect((await entry(second, b.id)).status).toBe('offered');
    const leaveWaiting = await join(first, show, { quantity: 1 });
    expect(
      (await api.request('DELETE', `/waitlist/${leaveWaiting.body.id}`, { token: first })).body.status,
    ).toBe('left');
  });
});
