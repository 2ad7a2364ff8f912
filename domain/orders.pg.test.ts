import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser } from '../db/users';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, invariantViolations, type Show } from '../test/fixtures';
import { bookingLimits } from './config';
import { placeOrder, startPayment } from './orders';

let api: TestApi;
let show: Show;
let fan: string;
let other: string;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_ORDER: '4', MAX_SEATS_PER_USER: '6', HOLD_TTL_SECONDS: '300' });
  show = await createShow(api.sql, { rows: 10, seatsPerRow: 20, price: 150000 });
  fan = await api.token('fan-orders');
  other = await api.token('fan-other');
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

const order = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  api.request('POST', '/orders', { token, body, headers });

describe('POST /orders with seatIds', () => {
  it('holds the seats and creates the order with server-computed prices', async () => {
    const seats = show.rows.R001!.slice(0, 2);

    const res = await order(fan, { scheduleId: show.scheduleId, seatIds: seats });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      scheduleId: show.scheduleId,
      status: 'created',
      totalAmount: '300000.00',
      payments: [],
    });
    expect(res.body.items.map((i: { seatId: number }) => i.seatId)).toEqual(seats);
    expect(
      res.body.items.every(
        (i: { status: string; price: string }) => i.status === 'held' && i.price === '150000.00',
      ),
    ).toBe(true);
    const expires = Date.parse(res.body.holdExpiresAt) - Date.now();
    expect(expires).toBeGreaterThan(290_000);
    expect(expires).toBeLessThanOrEqual(300_000);
    const map = await api.request('GET', `/schedules/${show.scheduleId}/seats`);
    const status = new Map(
      map.body.seats.map((s: { seatId: number; status: string }) => [s.seatId, s.status]),
    );
    expect(seats.map((id) => status.get(id))).toEqual(['unavailable', 'unavailable']);
  });

  it('is all or nothing: one taken seat fails the order, names it, and holds nothing', async () => {
    const [a, b, c] = show.rows.R002!;
    expect((await order(other, { scheduleId: show.scheduleId, seatIds: [b] })).status).toBe(201);

    const res = await order(fan, { scheduleId: show.scheduleId, seatIds: [a, b, c] });

    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'SEAT_UNAVAILABLE', status: 409, seatIds: [b] });
    const [row] =
      await api.sql`select count(*)::int as n from schedule_seats where seat_id in (${a!}, ${c!}) and status <> 'available'`;
    expect(row!.n).toBe(0);
  });

  it('refuses seats of another schedule, duplicates and too many seats with 422', async () => {
    const otherShow = await createShow(api.sql, { rows: 1, seatsPerRow: 5 });
    const r1 = await order(fan, { scheduleId: show.scheduleId, seatIds: [otherShow.seatIds[0]] });
    const r2 = await order(fan, {
      scheduleId: show.scheduleId,
      seatIds: [show.rows.R003![0], show.rows.R003![0]],
    });
    const r3 = await order(fan, { scheduleId: show.scheduleId, seatIds: show.rows.R003!.slice(0, 5) });

    expect([r1.status, r1.body.code, r1.body.seatIds]).toEqual([
      422,
      'SEATS_NOT_IN_SCHEDULE',
      [otherShow.seatIds[0]],
    ]);
    expect([r2.status, r2.body.code]).toEqual([422, 'DUPLICATE_SEATS']);
    expect([r3.status, r3.body.code]).toEqual([422, 'SEAT_LIMIT_EXCEEDED']);
  });

  it('answers 404 for an unknown schedule and 409 SALES_CLOSED when sales are closed', async () => {
    const closed = await createShow(api.sql, { rows: 1, seatsPerRow: 3 });
    const admin = await api.adminToken();
    await api.request('PATCH', `/admin/schedules/${closed.scheduleId}`, {
      token: admin,
      body: { status: 'closed' },
    });

    const unknown = await order(fan, { scheduleId: 987654, seatIds: [1] });
    const res = await order(fan, { scheduleId: closed.scheduleId, seatIds: [closed.seatIds[0]] });

    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
    expect([res.status, res.body.code]).toEqual([409, 'SALES_CLOSED']);
  });

  it('refuses a schedule that has started', async () => {
    const started = await createShow(api.sql, { rows: 1, seatsPerRow: 3, startsInHours: -1 });
    const res = await order(fan, { scheduleId: started.scheduleId, seatIds: [started.seatIds[0]] });
    expect([res.status, res.body.code]).toEqual([409, 'SALES_CLOSED']);
  });

  it('refuses 409 SALES_CLOSED for a schedule of an inactive concert, reached by a direct link', async () => {
    const hidden = await createShow(api.sql, { rows: 1, seatsPerRow: 6 });
    // the single-seat rule sends a pick down the slower path: it must refuse too
    const ruled = await createShow(api.sql, { rows: 1, seatsPerRow: 6, noSingleSeatGaps: true });
    const admin = await api.adminToken();
    for (const { concertId } of [hidden, ruled]) {
      const patched = await api.request('PATCH', `/admin/concerts/${concertId}`, {
        token: admin,
        body: { isActive: false },
      });
      expect(patched.status).toBe(200);
    }

    const res = await order(fan, { scheduleId: hidden.scheduleId, seatIds: [hidden.seatIds[0]] });
    const ruledRes = await order(fan, { scheduleId: ruled.scheduleId, seatIds: ruled.seatIds.slice(0, 2) });

    expect([res.status, res.body.code]).toEqual([409, 'SALES_CLOSED']);
    expect([ruledRes.status, ruledRes.body.code]).toEqual([409, 'SALES_CLOSED']);
    const [row] = await api.sql`
      select count(*)::int as n from schedule_seats
      where schedule_id in (${hidden.scheduleId}, ${ruled.scheduleId}) and status <> 'available'`;
    expect(row!.n).toBe(0);

    // active again: on sale again
    await api.request('PATCH', `/admin/concerts/${hidden.concertId}`, {
      token: admin,
      body: { isActive: true },
    });
    expect((await order(fan, { scheduleId: hidden.scheduleId, seatIds: [hidden.seatIds[0]] })).status).toBe(
      201,
    );
  });

  it('keeps one user within MAX_SEATS_PER_USER per schedule, even with concurrent requests', async () => {
    const limited = await createShow(api.sql, { rows: 4, seatsPerRow: 10 });
    const greedy = await api.token('greedy');

    // 10 concurrent orders of 2 seats each: at most 3 fit in a limit of 6
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        order(greedy, { scheduleId: limited.scheduleId, seatIds: limited.seatIds.slice(i * 2, i * 2 + 2) }),
      ),
    );

    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    expect(results.filter((r) => r.status === 422).every((r) => r.body.code === 'SEAT_LIMIT_EXCEEDED')).toBe(
      true,
    );
    const [row] = await api.sql`
      select count(*)::int as n from order_items oi join orders o on o.id = oi.order_id join users u on u.id = o.user_id
      where u.sub = 'greedy' and oi.status = 'held'`;
    expect(row!.n).toBe(6);
  });

  it('gives every seat to exactly one of 60 concurrent overlapping multi-seat orders, without deadlocks', async () => {
    const rush = await createShow(api.sql, { rows: 1, seatsPerRow: 30 });
    const seats = rush.seatIds;
    const tokens = await Promise.all(Array.from({ length: 60 }, (_, i) => api.token(`rush-${i}`)));

    // overlapping windows in both directions: the classic deadlock shape without ordered locking
    const results = await Promise.all(
      tokens.map((token, i) => {
        const start = (i * 7) % 27;
        const pick = seats.slice(start, start + 3);
        return order(token, { scheduleId: rush.scheduleId, seatIds: i % 2 ? pick.reverse() : pick });
      }),
    );

    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(
      results.every((r) => r.status === 201 || (r.status === 409 && r.body.code === 'SEAT_UNAVAILABLE')),
    ).toBe(true);
    const won = results
      .filter((r) => r.status === 201)
      .flatMap((r) => r.body.items.map((i: { seatId: number }) => i.seatId));
    expect(new Set(won).size).toBe(won.length);
    const [held] = await api.sql`
      select count(*)::int as n from schedule_seats where schedule_id = ${rush.scheduleId} and status = 'held'`;
    expect(held!.n).toBe(won.length);
  });
});

describe('expiry is exact', () => {
  it('gives a lapsed hold to the next fan at once, before any sweep, and cancels the lapsed order', async () => {
    const lapsedShow = await createShow(api.sql, { rows: 1, seatsPerRow: 5 });
    const [a, b] = lapsedShow.seatIds;
    const first = await order(fan, { scheduleId: lapsedShow.scheduleId, seatIds: [a, b] });
    await api.sql`update orders set hold_expires_at = now() - interval '1 second' where id = ${first.body.id}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 second' where order_id = ${first.body.id}`;

    const map = await api.request('GET', `/schedules/${lapsedShow.scheduleId}/seats`);
    const second = await order(other, { scheduleId: lapsedShow.scheduleId, seatIds: [a] });

    expect(map.body.seats.filter((s: { status: string }) => s.status === 'available')).toHaveLength(5);
    expect(second.status).toBe(201);
    const lost = await api.request('GET', `/orders/${first.body.id}`, { token: fan });
    expect(lost.body.status).toBe('cancelled');
    expect(lost.body.items.every((i: { status: string }) => i.status === 'cancelled')).toBe(true);
    // the lapsed order's other seat is free too
    expect((await order(other, { scheduleId: lapsedShow.scheduleId, seatIds: [b] })).status).toBe(201);
  });
});

describe('orders belong to their owner', () => {
  it('shows an order to its owner and an admin, and 404 to anyone else', async () => {
    const mine = await order(fan, { scheduleId: show.scheduleId, seatIds: [show.rows.R005![0]] });

    const own = await api.request('GET', `/orders/${mine.body.id}`, { token: fan });
    const foreign = await api.request('GET', `/orders/${mine.body.id}`, { token: other });
    const admin = await api.request('GET', `/orders/${mine.body.id}`, { token: await api.adminToken() });
    const cancel = await api.request('POST', `/orders/${mine.body.id}/cancel`, { token: other });
    const pay = await api.request('POST', `/orders/${mine.body.id}/payments`, {
      token: other,
      body: { provider: 'card' },
    });

    expect(own.status).toBe(200);
    expect(admin.status).toBe(200);
    expect([foreign.status, cancel.status, pay.status]).toEqual([404, 404, 404]);
    expect(own.body).not.toHaveProperty('userId');
  });

  it('lists the caller orders newest first with a cursor', async () => {
    const lister = await api.token('lister');
    const listShow = await createShow(api.sql, { rows: 1, seatsPerRow: 5 });
    const ids: number[] = [];
    for (const seat of listShow.seatIds.slice(0, 3))
      ids.push((await order(lister, { scheduleId: listShow.scheduleId, seatIds: [seat] })).body.id);

    const page1 = await api.request('GET', '/me/orders?limit=2', { token: lister });
    const page2 = await api.request('GET', `/me/orders?limit=2&cursor=${page1.body.nextCursor}`, {
      token: lister,
    });

    expect(page1.body.items.map((o: { id: number }) => o.id)).toEqual([ids[2], ids[1]]);
    expect(page2.body.items.map((o: { id: number }) => o.id)).toEqual([ids[0]]);
    expect(page2.body.nextCursor).toBeNull();
  });
});

describe('the payment deadline is counted once', () => {
  /** Moves an order's deadline (order and seats) to `interval` from now, as if time had passed. */
  const moveDeadline = (orderId: number, interval: string) => api.sql`
    with o as (update orders set hold_expires_at = now() + ${interval}::interval where id = ${orderId})
    update schedule_seats set hold_expires_at = now() + ${interval}::interval where order_id = ${orderId}`;
  const deadlines = async (orderId: number) => {
    const [row] = await api.sql<{ order: Date; seats: Date[]; payments: Date[] }[]>`
      select o.hold_expires_at as order,
             array(select hold_expires_at from schedule_seats where order_id = o.id) as seats,
             array(select expires_at from payments where order_id = o.id order by id) as payments
      from orders o where o.id = ${orderId}`;
    return row!;
  };

  it("keeps the first start's deadline when payment starts again with another provider, until it lapses", async () => {
    const c = await createShow(api.sql, { rows: 1, seatsPerRow: 4 });
    const caller = { id: await ensureUser(api.sql, { sub: 'provider-hopper' }), isAdmin: false };
    const limits = bookingLimits();
    const placed = await placeOrder(
      api.sql,
      caller.id,
      { scheduleId: c.scheduleId, seatIds: c.seatIds.slice(0, 2) },
      limits,
    );
    const orderId = placed.order.id;
    const card = await startPayment(api.sql, caller, orderId, 'card', limits);

    // nine of the ten minutes pass, then the fan switches provider, and back, and retries
    await moveDeadline(orderId, '1 minute');
    const { order: deadline } = await deadlines(orderId);
    const kakao = await startPayment(api.sql, caller, orderId, 'kakao', limits);
    const cardAgain = await startPayment(api.sql, caller, orderId, 'card', limits);
    const sameCard = await startPayment(api.sql, caller, orderId, 'card', limits);

    expect(kakao.id).not.toBe(card.id);
    expect(sameCard.id).toBe(cardAgain.id);
    const after = await deadlines(orderId);
    expect(after.order).toEqual(deadline);
    expect(after.seats).toEqual([deadline, deadline]);
    expect(after.payments.slice(1)).toEqual([deadline, deadline]);

    await moveDeadline(orderId, '-1 second');
    await expect(startPayment(api.sql, caller, orderId, 'kakao', limits)).rejects.toMatchObject({
      code: 'ORDER_EXPIRED',
    });
  });

  it('gives concurrent starts with different providers one deadline', async () => {
    const c = await createShow(api.sql, { rows: 1, seatsPerRow: 4 });
    const placed = await order(fan, { scheduleId: c.scheduleId, seatIds: [c.seatIds[0]] });
    const providers = ['card', 'kakao', 'naver', 'card', 'kakao', 'naver'];

    const starts = await Promise.all(
      providers.map((provider) =>
        api.request('POST', `/orders/${placed.body.id}/payments`, { token: fan, body: { provider } }),
      ),
    );

    expect(starts.map((s) => s.status)).toEqual(Array(providers.length).fill(201));
    const { order: deadline, seats, payments } = await deadlines(placed.body.id);
    expect(seats).toEqual([deadline]);
    expect(payments).toEqual(Array(payments.length).fill(deadline));
    const view = await api.request('GET', `/orders/${placed.body.id}`, { token: fan });
    expect(Date.parse(view.body.holdExpiresAt)).toBe(deadline.getTime());
  });
});

describe('POST /orders/{id}/cancel', () => {
  it('cancels some items, then the rest; released seats are on sale at once', async () => {
    const c = await createShow(api.sql, { rows: 1, seatsPerRow: 5 });
    const placed = await order(fan, { scheduleId: c.scheduleId, seatIds: c.seatIds.slice(0, 3) });
    const [i1, i2, i3] = placed.body.items.map((i: { id: number }) => i.id);

    const partial = await api.request('POST', `/orders/${placed.body.id}/cancel`, {
      token: fan,
      body: { itemIds: [i1] },
    });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ status: 'created', totalAmount: '200.00' });
    const resold = await order(other, { scheduleId: c.scheduleId, seatIds: [c.seatIds[0]] });
    expect(resold.status).toBe(201);

    const rest = await api.request('POST', `/orders/${placed.body.id}/cancel`, { token: fan });
    expect(rest.body.status).toBe('cancelled');
    expect(rest.body.items.map((i: { id: number; status: string }) => [i.id, i.status])).toEqual([
      [i1, 'cancelled'],
      [i2, 'cancelled'],
      [i3, 'cancelled'],
    ]);

    const again = await api.request('POST', `/orders/${placed.body.id}/cancel`, { token: fan });
    expect([again.status, again.body.code]).toEqual([409, 'NOTHING_CANCELLABLE']);
  });

  it('refuses items that are not part of the order', async () => {
    const c = await createShow(api.sql, { rows: 1, seatsPerRow: 2 });
    const placed = await order(fan, { scheduleId: c.scheduleId, seatIds: [c.seatIds[0]] });
    const res = await api.request('POST', `/orders/${placed.body.id}/cancel`, {
      token: fan,
      body: { itemIds: [999999] },
    });
    expect(res.status).toBe(404);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response for the same request and refuses the key with another body', async () => {
    const c = await createShow(api.sql, { rows: 1, seatsPerRow: 4 });
    const body = { scheduleId: c.scheduleId, seatIds: [c.seatIds[0]] };

    const first = await order(fan, body, { 'idempotency-key': 'k-1' });
    const again = await order(fan, body, { 'idempotency-key': 'k-1' });
    const reused = await order(fan, { ...body, seatIds: [c.seatIds[1]] }, { 'idempotency-key': 'k-1' });
    const otherUser = await order(other, { ...body, seatIds: [c.seatIds[2]] }, { 'idempotency-key': 'k-1' });

    expect(first.status).toBe(201);
    expect(again).toMatchObject({ status: 201, body: first.body });
    expect([reused.status, reused.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(otherUser.status).toBe(201);
  });

  it('creates one order for identical requests sent at the same moment', async () => {
    const c = await createShow(api.sql, { rows: 1, seatsPerRow: 4 });
    const body = { scheduleId: c.scheduleId, seatIds: [c.seatIds[0], c.seatIds[1]] };

    const results = await Promise.all(
      Array.from({ length: 8 }, () => order(fan, body, { 'idempotency-key': 'race-1' })),
    );

    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const [row] = await api.sql`select count(*)::int as n from orders where schedule_id = ${c.scheduleId}`;
    expect(row!.n).toBe(1);
  });

  it('refuses keys longer than 200 characters', async () => {
    const res = await order(
      fan,
      { scheduleId: show.scheduleId, seatIds: [show.rows.R009![0]] },
      { 'idempotency-key': 'x'.repeat(201) },
    );
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
