import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql } from '../../db/client';
import { cancelOrder } from '../../domain/orders';
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

/** Holds the schedule's wait-list lock on a connection of its own: its serving waits until `release`. */
async function holdUpServing(scheduleId: number) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const done = api.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(waitlist_lock_key(${scheduleId})) is null as locked`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await done;
  };
}

/** Waits until the seat's freeing has committed (its hold is gone). */
async function untilFreed(scheduleId: number, seatId: number) {
  for (let i = 0; i < 200; i++) {
    const [row] = await api.sql<{ status: string }[]>`
      select status from schedule_seats where schedule_id = ${scheduleId} and seat_id = ${seatId}`;
    if (row!.status === 'available') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`seat ${seatId} was never freed`);
}

const holdSeats = (token: string, show: Show, seatIds: number[]) =>
  api.request('POST', '/orders', { token, body: { scheduleId: show.scheduleId, seatIds } });
const holdBest = (token: string, show: Show, quantity: number) =>
  api.request('POST', '/orders', { token, body: { scheduleId: show.scheduleId, quantity } });
const available = async (show: Show) =>
  (await api.request('GET', `/schedules/${show.scheduleId}/availability`)).body.available as number;
const publicStatus = async (show: Show, seatId: number) =>
  (await api.request('GET', `/schedules/${show.scheduleId}/seats`)).body.seats.find(
    (s: { seatId: number }) => s.seatId === seatId,
  ).status as string;

/** Makes the hold of an order lapse, as time passing would: no status changes, only the deadline. */
async function lapse(orderId: number) {
  await api.sql`update orders set hold_expires_at = now() - interval '1 second' where id = ${orderId}`;
  await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 second' where order_id = ${orderId}`;
}

describe('freed seats before public sale', () => {
  it('a seat cancelled while an entry waits is not sold to a fan racing the wait-list: the entry gets it', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const waiter = await newFan();
    const racer = await newFan();
    const waiting = (await join(waiter, show, { quantity: 1 })).body;
    const seatId = show.rows.R001![0]!;

    // the wait-list is busy serving: the cancel commits, and its offer waits for the lock
    const release = await holdUpServing(show.scheduleId);
    const cancelled = cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[0]!]);
    await untilFreed(show.scheduleId, seatId);
    const picked = await holdSeats(racer, show, [seatId]);
    const best = await holdBest(racer, show, 1);
    const shown = await publicStatus(show, seatId);
    const count = await available(show);
    await release();

    expect((await cancelled).status).toBe(200);
    expect(picked.status).toBe(409);
    expect(picked.body.code).toBe('SEAT_UNAVAILABLE');
    expect(best.body.code).toBe('SOLD_OUT');
    expect(shown).toBe('unavailable');
    expect(count).toBe(0);
    const offered = await entry(waiter, waiting.id);
    expect(offered.status).toBe('offered');
    const order = (await api.request('GET', `/orders/${offered.orderId}`, { token: waiter })).body;
    expect(order.items.map((i: { seatId: number }) => i.seatId)).toEqual([seatId]);
  });

  it('a crash between freeing and serving leaves the seats kept and the schedule due: the sweeper serves it', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const waiter = await newFan();
    const waiting = (await join(waiter, show, { quantity: 1 })).body;
    const seatId = show.rows.R001![0]!;

    // freed in a transaction whose code never got to serve the wait-list (it died after the commit)
    await api.sql`
      with released as (
        update schedule_seats set status = 'available', hold_expires_at = null, order_id = null,
          for_waitlist = waitlist_has_waiting(schedule_id), version = version + 1
        where schedule_id = ${show.scheduleId} and seat_id = ${seatId}
        returning schedule_id
      ), items as (
        update order_items set status = 'cancelled' where order_id = ${buyers[0]!.orderId}
          and schedule_seat_id in (select id from schedule_seats where seat_id = ${seatId})
      )
      select note_seats_freed(array(select schedule_id from released))`;
    await api.sql`update orders set total_amount = (select coalesce(sum(price), 0) from order_items
      where order_id = ${buyers[0]!.orderId} and status <> 'cancelled') where id = ${buyers[0]!.orderId}`;

    expect((await holdSeats(await newFan(), show, [seatId])).body.code).toBe('SEAT_UNAVAILABLE');
    expect((await entry(waiter, waiting.id)).status).toBe('waiting');
    const swept = await sweep(api.sql);

    expect(swept.offers).toBe(1);
    expect((await entry(waiter, waiting.id)).status).toBe('offered');
  });

  it("a lapsed hold's seats are refused to the public while an entry waits, and offered by the sweep", async () => {
    const show = await createShow(api.sql, { rows: 1, seatsPerRow: 3 });
    await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
      token: admin,
      body: { waitlist: { enabled: true } },
    });
    const holder = await newFan();
    const held = await holdSeats(holder, show, show.rows.R001!);
    expect(held.status).toBe(201);
    const waiter = await newFan();
    const racer = await newFan();
    const waiting = (await join(waiter, show, { quantity: 2 })).body;
    expect(waiting.status).toBe('waiting');
    await lapse(held.body.id);

    const picked = await holdSeats(racer, show, [show.rows.R001![2]!]);
    const best = await holdBest(racer, show, 1);
    expect(picked.body.code).toBe('SEAT_UNAVAILABLE');
    expect(best.body.code).toBe('SOLD_OUT');
    expect(await available(show)).toBe(0);
    expect(await publicStatus(show, show.rows.R001![0]!)).toBe('unavailable');

    const swept = await sweep(api.sql);

    expect(swept.offers).toBe(1);
    const offered = await entry(waiter, waiting.id);
    expect(offered.status).toBe('offered');
    // what no entry fits is back on sale
    expect(await available(show)).toBe(1);
    expect((await holdBest(racer, show, 1)).status).toBe(201);
  });

  it('with no entry waiting, nothing changes: lapsed and cancelled seats are on sale at once', async () => {
    const { show, buyers } = await soldOutShow(1, 4);
    const [lapsedSeat, , cancelledSeat] = show.rows.R001!;
    const holder = await newFan();
    await cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[0]!]);
    const held = await holdSeats(holder, show, [lapsedSeat!]);
    expect(held.status).toBe(201);
    await lapse(held.body.id);

    expect((await holdSeats(await newFan(), show, [lapsedSeat!])).status).toBe(201);
    // even while the wait-list is busy with something else, a cancel's seats are on sale once it commits
    const release = await holdUpServing(show.scheduleId);
    const cancelled = cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[2]!]);
    await untilFreed(show.scheduleId, cancelledSeat!);
    const picked = await holdSeats(await newFan(), show, [cancelledSeat!]);
    await release();

    expect((await cancelled).status).toBe(200);
    expect(picked.status).toBe(201);
  });

  it("an entrant's own hold in flight while the wait-list serves: no deadlock; the entrant keeps the place", async () => {
    const { show, buyers } = await soldOutShow(1, 4);
    const first = await newFan();
    const second = await newFan();
    const a = (await join(first, show, { quantity: 1 })).body;
    const b = (await join(second, show, { quantity: 1 })).body;
    const [{ userId }] = await api.sql<[{ userId: number }]>`
      select user_id as "userId" from waitlist_entries where id = ${b.id}`;
    const seats = show.rows.R001!;

    // the second entrant is in the middle of a hold of their own (its per-user lock taken), and
    // asks for the seats that are about to come free
    const holds = api.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hold_lock_key(${userId}, ${show.scheduleId})) is null as locked`;
      await new Promise((r) => setTimeout(r, 100));
      const [row] = await tx<{ hold: { order: unknown } }[]>`
        select hold_seats(${userId}, ${show.scheduleId}, ${[seats[0]!, seats[1]!]}::bigint[], 60, 6, true) as hold`;
      return row!.hold;
    });
    const cancelled = cancel(buyers[0]!.token, buyers[0]!.orderId, buyers[0]!.itemIds.slice(0, 2));

    expect((await cancelled).status).toBe(200);
    expect((await holds).order).toBeNull();
    // passed over while their own hold had their lock, the second entrant is served next time
    await sweep(api.sql);
    expect((await entry(first, a.id)).status).toBe('offered');
    expect((await entry(second, b.id)).status).toBe('offered');
  });
});

describe('attacks', () => {
  it('an offer made after a committed cancel never turns the cancel into an error: the sweeper serves it', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const waiter = await newFan();
    const waiting = (await join(waiter, show, { quantity: 1 })).body;
    const [{ userId }] = await api.sql<[{ userId: number }]>`
      select user_id as "userId" from orders where id = ${buyers[0]!.orderId}`;
    // connections with the deployed database's lock limit (0002; a test database is a copy
    // without its settings), shortened
    await api.sql.unsafe(`alter database "${api.db.name}" set lock_timeout = '300ms'`);
    const limited = createSql({ url: api.db.url, max: 2 });

    // the wait-list is busy longer than a request may wait for a lock
    const release = await holdUpServing(show.scheduleId);
    const cancelled = await cancelOrder(limited, { id: userId, isAdmin: false }, buyers[0]!.orderId, [
      buyers[0]!.itemIds[0]!,
    ]).then(
      (order) => order.status,
      (error: Error) => error.message,
    );
    await release();
    await limited.end();
    await api.sql.unsafe(`alter database "${api.db.name}" reset lock_timeout`);

    expect(cancelled).toBe('created');
    expect((await holdSeats(await newFan(), show, [show.rows.R001![0]!])).body.code).toBe('SEAT_UNAVAILABLE');
    await sweep(api.sql);
    expect((await entry(waiter, waiting.id)).status).toBe('offered');
  });

  it('switching the wait-list off puts its kept seats on sale; open offers stay payable', async () => {
    const { show, buyers } = await soldOutShow(1, 4);
    const offeredFan = await newFan();
    const waiter = await newFan();
    const o = (await join(offeredFan, show, { quantity: 1 })).body;
    const w = (await join(waiter, show, { quantity: 1 })).body;
    await cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[0]!]);
    expect((await entry(offeredFan, o.id)).status).toBe('offered');

    // a seat comes free while the serving is held up, and the admin switches the list off
    const release = await holdUpServing(show.scheduleId);
    const cancelled = cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[3]!]);
    await untilFreed(show.scheduleId, show.rows.R001![3]!);
    const off = api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
      token: admin,
      body: { waitlist: { enabled: false } },
    });
    while (
      (await api.sql`select 1 from waitlists where schedule_id = ${show.scheduleId} and enabled`).length
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await release();
    expect((await cancelled).status).toBe(200);
    expect((await off).status).toBe(200);

    expect(await available(show)).toBe(1);
    expect((await entry(waiter, w.id)).status).toBe('waiting');
    const offer = await entry(offeredFan, o.id);
    expect(offer.status).toBe('offered');
    const pay = await api.request('POST', `/orders/${offer.orderId}/payments`, {
      token: offeredFan,
      body: { provider: 'card' },
    });
    expect(pay.status).toBe(201);
    expect(await invariantViolations(api.sql)).toEqual({});
  });

  it('leaving an entry whose offer lapsed unswept says it lapsed, and the seats pass on', async () => {
    const { show, buyers } = await soldOutShow(1, 2);
    const first = await newFan();
    const second = await newFan();
    const a = (await join(first, show, { quantity: 1 })).body;
    const b = (await join(second, show, { quantity: 1 })).body;
    await cancel(buyers[0]!.token, buyers[0]!.orderId, [buyers[0]!.itemIds[0]!]);
    const offer = await entry(first, a.id);
    expect(offer.status).toBe('offered');
    await lapse(offer.orderId);

    const left = await api.request('DELETE', `/waitlist/${a.id}`, { token: first });

    expect(left.status).toBe(200);
    expect(left.body.status).toBe('lapsed');
    expect((await entry(second, b.id)).status).toBe('offered');
  });
});
