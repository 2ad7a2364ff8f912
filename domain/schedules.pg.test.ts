import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql } from '../db/client';
import { ensureUser } from '../db/users';
import { createTestApi, type TestApi } from '../test/api';
import { untilSomeoneWaitsForALock } from '../test/db';
import { createShow, invariantViolations, type Show } from '../test/fixtures';
import { cancelOrder, placeOrder, startPayment } from './orders';
import { applyPaymentEvent } from './payments';
import { changeScheduleStatus, settleCancelledSchedules } from './schedules';

/**
 * Cancelling a schedule: the PATCH only stops sales (202), and a background job settles the
 * schedule's orders — unpaid ones cancelled, paid ones refunded — in small transactions, until none
 * is left. These tests prove it finishes, survives being stopped or failing half-way, never refunds
 * twice (two runs at once included) and catches the order of a hold that was in flight when the
 * cancel committed.
 */
const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 100 };
let api: TestApi;
let admin: string;
let users = 0;

beforeAll(async () => {
  api = await createTestApi();
  admin = await api.adminToken();
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

const newUser = () => ensureUser(api.sql, { sub: `schedule-fan-${++users}` });

/** An unpaid order (held, or awaiting a started payment) of `seatIds`. */
async function unpaidOrder(show: Show, seatIds: number[], { paying = false } = {}) {
  const user = await newUser();
  const { order } = await placeOrder(api.sql, user, { scheduleId: show.scheduleId, seatIds }, limits);
  if (paying) await startPayment(api.sql, { id: user, isAdmin: false }, order.id, 'card', limits);
  return order.id;
}

/** A paid order of `seatIds`: a card payment that succeeded. */
async function paidOrder(show: Show, seatIds: number[]) {
  const user = await newUser();
  const { order } = await placeOrder(api.sql, user, { scheduleId: show.scheduleId, seatIds }, limits);
  const payment = await startPayment(api.sql, { id: user, isAdmin: false }, order.id, 'card', limits);
  const outcome = await applyPaymentEvent(api.sql, 'card', {
    eventId: `paid-${payment.id}`,
    type: 'payment.succeeded',
    paymentId: payment.id,
    pgTid: `tid-${payment.id}`,
    amount: payment.amount,
    occurredAt: new Date().toISOString(),
  });
  expect(outcome).toBe('paid');
  return order.id;
}

/** A show with unpaid and paid orders: 3 held, 1 awaiting payment, 3 paid (of 1, 2 and 3 seats). */
async function showWithOrders() {
  const show = await createShow(api.sql, { rows: 2, seatsPerRow: 10, price: 1000 });
  const s = show.seatIds;
  const unpaid = [
    await unpaidOrder(show, [s[0]!]),
    await unpaidOrder(show, [s[1]!, s[2]!]),
    await unpaidOrder(show, [s[3]!], { paying: true }),
    await unpaidOrder(show, [s[4]!]),
  ];
  const paid = [
    await paidOrder(show, [s[5]!]),
    await paidOrder(show, [s[6]!, s[7]!]),
    await paidOrder(show, [s[8]!, s[9]!, s[10]!]),
  ];
  return { show, unpaid, paid, paidItems: 6 };
}

/** Everything that says whether a schedule's cancellation is finished, and finished right. */
async function settlement(scheduleId: number) {
  const orders = await api.sql<{ id: number; status: string; cancelReason: string | null }[]>`
    select id, status, cancel_reason as "cancelReason" from orders where schedule_id = ${scheduleId} order by id`;
  const ids = orders.map((o) => o.id);
  const [refunds] = await api.sql<{ rows: number; amount: string }[]>`
    select count(*)::int as rows, coalesce(sum(amount), 0)::text as amount
    from payments where status = 'refund' and order_id = any(${ids}::bigint[])`;
  const [items] = await api.sql<{ live: number }[]>`
    select count(*)::int as live from order_items
    where order_id = any(${ids}::bigint[]) and status <> 'cancelled'`;
  const [seats] = await api.sql<{ taken: number }[]>`
    select count(*)::int as taken from schedule_seats where schedule_id = ${scheduleId} and status <> 'available'`;
  const events = await api.sql<{ type: string; n: number }[]>`
    select detail_type as type, count(*)::int as n from outbox
    where (detail ->> 'orderId')::bigint = any(${ids}::bigint[]) and detail ->> 'reason' = 'schedule_cancelled'
    group by 1 order by 1`;
  const [open] = await api.sql<{ n: number }[]>`
    select count(*)::int as n from payments where status = 'initiated' and order_id = any(${ids}::bigint[])`;
  return {
    orders: orders.map((o) => [o.status, o.cancelReason]),
    refunds,
    liveItems: items!.live,
    takenSeats: seats!.taken,
    openPayments: open!.n,
    events: Object.fromEntries(events.map((e) => [e.type, e.n])),
  };
}

/** What a fully settled `showWithOrders` looks like: each paid seat refunded once. */
const settled = {
  orders: [
    ['cancelled', 'schedule_cancelled'],
    ['cancelled', 'schedule_cancelled'],
    ['cancelled', 'schedule_cancelled'],
    ['cancelled', 'schedule_cancelled'],
    ['refunded', null],
    ['refunded', null],
    ['refunded', null],
  ],
  refunds: { rows: 3, amount: '6000.00' },
  liveItems: 0,
  takenSeats: 0,
  openPayments: 0,
  // each refund is requested from the gateway once (the refund worker sends it)
  events: { 'order.cancelled': 4, 'order.refunded': 3, 'refund.requested': 3 },
};

const cancelSchedule = (scheduleId: number) =>
  api.request('PATCH', `/admin/schedules/${scheduleId}`, { token: admin, body: { status: 'cancelled' } });

describe('PATCH /admin/schedules/{id} to cancelled', () => {
  it('answers 202 at once: sales stop, the orders are left to the job, the progress is in the body', async () => {
    const { show } = await showWithOrders();

    const res = await cancelSchedule(show.scheduleId);

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      id: show.scheduleId,
      status: 'cancelled',
      seatCount: 20,
      cancellation: { ordersLeft: 7, refundsRequested: 0, refundsSent: 0, refundsFailed: 0 },
    });
    // nothing was settled inside the request
    expect((await settlement(show.scheduleId)).orders.filter(([s]) => s === 'cancelled')).toEqual([]);
    const hold = await api.request('POST', '/orders', {
      token: await api.token('late-fan'),
      body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[19]] },
    });
    expect([hold.status, hold.body.code]).toEqual([409, 'SALES_CLOSED']);
    await settleCancelledSchedules(api.sql);
  });

  it('shows the progress: orders left, then refunds requested, sent and failed', async () => {
    const { show } = await showWithOrders();
    // a refund from before the cancel (a customer's) counts too: it is money of this schedule
    const [early] = await api.sql<{ id: number }[]>`
      select o.id from orders o where o.schedule_id = ${show.scheduleId} and o.status = 'paid' order by o.id limit 1`;
    await cancelOrder(api.sql, { id: 0, isAdmin: true }, early!.id);

    const before = await cancelSchedule(show.scheduleId);
    await settleCancelledSchedules(api.sql);
    const after = await cancelSchedule(show.scheduleId);
    const refundIds = (
      await api.sql<{ id: number }[]>`
        select p.id from payments p join orders o on o.id = p.order_id
        where o.schedule_id = ${show.scheduleId} and p.status = 'refund' order by p.id`
    ).map((r) => r.id);
    await api.sql`update payments set refund_status = 'sent', refund_sent_at = now() where id = ${refundIds[0]!}`;
    await api.sql`update payments set refund_status = 'failed', refund_error = 'test' where id = ${refundIds[1]!}`;
    const later = await cancelSchedule(show.scheduleId);

    expect(before.body.cancellation).toEqual({
      ordersLeft: 6,
      refundsRequested: 1,
      refundsSent: 0,
      refundsFailed: 0,
    });
    expect([after.status, after.body.cancellation]).toEqual([
      202,
      { ordersLeft: 0, refundsRequested: 3, refundsSent: 0, refundsFailed: 0 },
    ]);
    expect(later.body.cancellation).toEqual({
      ordersLeft: 0,
      refundsRequested: 1,
      refundsSent: 1,
      refundsFailed: 1,
    });
  });

  it('answers 200 without a cancellation for opening and closing sales', async () => {
    const show = await createShow(api.sql, { rows: 1, seatsPerRow: 2 });

    const closed = await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
      token: admin,
      body: { status: 'closed' },
    });
    const reopened = await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
      token: admin,
      body: { status: 'sales_open' },
    });

    expect([closed.status, closed.body.status, 'cancellation' in closed.body]).toEqual([
      200,
      'closed',
      false,
    ]);
    expect([reopened.status, reopened.body.status]).toEqual([200, 'sales_open']);
  });

  it('never reopens a schedule that a concurrent request cancelled', async () => {
    const show = await createShow(api.sql, { rows: 1, seatsPerRow: 2 });
    await changeScheduleStatus(api.sql, show.scheduleId, 'closed');

    // a cancel that has written its status but not yet committed, on its own connection
    const cancelling = await api.sql.reserve();
    await cancelling`begin`;
    await cancelling`update schedules set status = 'cancelled', updated_at = now() where id = ${show.scheduleId}`;
    const reopen = changeScheduleStatus(api.sql, show.scheduleId, 'sales_open').then(
      () => 'reopened',
      (e: { code?: string }) => e.code,
    );
    await untilSomeoneWaitsForALock(api.sql);
    await cancelling`commit`;
    cancelling.release();

    expect(await reopen).toBe('INVALID_STATUS_TRANSITION');
    const [row] = await api.sql`select status from schedules where id = ${show.scheduleId}`;
    expect(row!.status).toBe('cancelled');
  });
});

describe('the schedule cancellation job', () => {
  it('cancels the unpaid orders and refunds the paid ones, in batches, each paid seat once', async () => {
    const { show } = await showWithOrders();
    await cancelSchedule(show.scheduleId);

    const result = await settleCancelledSchedules(api.sql, { batchSize: 3 });

    expect(result).toMatchObject({
      ordersCancelled: 4,
      ordersRefunded: 3,
      failed: [],
      batches: 3,
      reachedEnd: true,
    });
    expect(await settlement(show.scheduleId)).toEqual(settled);
    // a run with nothing left to do changes nothing
    expect(await settleCancelledSchedules(api.sql)).toMatchObject({ ordersCancelled: 0, ordersRefunded: 0 });
    expect(await settlement(show.scheduleId)).toEqual(settled);
  });

  it('leaves the orders of schedules that are not cancelled alone', async () => {
    const { show } = await showWithOrders();

    const result = await settleCancelledSchedules(api.sql);
    await cancelSchedule(show.scheduleId);
    await settleCancelledSchedules(api.sql);

    expect(result).toMatchObject({ ordersCancelled: 0, ordersRefunded: 0 });
  });

  it('stopped half-way (out of time, or the process killed), the next run finishes with the same end', async () => {
    const { show } = await showWithOrders();
    await cancelSchedule(show.scheduleId);
    let orders = 0;

    const first = await settleCancelledSchedules(api.sql, { batchSize: 2, keepGoing: () => orders++ < 3 });
    const between = await settlement(show.scheduleId);
    const second = await settleCancelledSchedules(api.sql, { batchSize: 2 });

    expect(first).toMatchObject({ ordersCancelled: 3, ordersRefunded: 0, reachedEnd: false });
    expect(between.orders.filter(([s]) => s === 'cancelled')).toHaveLength(3);
    expect(second).toMatchObject({ ordersCancelled: 1, ordersRefunded: 3, reachedEnd: true });
    expect(await settlement(show.scheduleId)).toEqual(settled);
  });

  it('an order whose transaction fails half-way is left as it was, reported, and settled by the next run', async () => {
    const { show, paid } = await showWithOrders();
    await cancelSchedule(show.scheduleId);
    // the job's refund of this order waits on its payment row and gives up (a lock timeout): its
    // items and seats were already changed in that transaction, so they must roll back with it
    const victim = createSql({ url: api.db.url, max: 1 });
    await victim`set lock_timeout = '300ms'`;
    const blocker = await api.sql.reserve();
    await blocker`begin`;
    await blocker`select 1 from payments where order_id = ${paid[1]!} and status = 'success' for update`;

    const failing = await settleCancelledSchedules(victim);
    const between = await settlement(show.scheduleId);
    await blocker`rollback`;
    blocker.release();
    const next = await settleCancelledSchedules(api.sql);
    await victim.end();

    expect(failing).toMatchObject({ ordersCancelled: 4, ordersRefunded: 2, reachedEnd: true });
    expect(failing.failed).toEqual([{ orderId: paid[1], error: expect.stringMatching(/lock timeout/) }]);
    expect(between.orders[5]).toEqual(['paid', null]);
    expect([between.refunds!.rows, between.liveItems, between.takenSeats]).toEqual([2, 2, 2]);
    expect(next).toMatchObject({ ordersCancelled: 0, ordersRefunded: 1, failed: [] });
    expect(await settlement(show.scheduleId)).toEqual(settled);
  });

  it('two runs at once, on two connections, settle each order once', async () => {
    const { show } = await showWithOrders();
    await cancelSchedule(show.scheduleId);
    const [a, b] = [createSql({ url: api.db.url, max: 1 }), createSql({ url: api.db.url, max: 1 })];

    const [one, two] = await Promise.all([
      settleCancelledSchedules(a, { batchSize: 2 }),
      settleCancelledSchedules(b, { batchSize: 2 }),
    ]);
    await Promise.all([a.end(), b.end()]);

    expect(one.ordersCancelled + two.ordersCancelled).toBe(4);
    expect(one.ordersRefunded + two.ordersRefunded).toBe(3);
    expect([...one.failed, ...two.failed]).toEqual([]);
    expect(await settlement(show.scheduleId)).toEqual(settled);
  });
});

describe('a hold in flight while the cancel commits (a straggler)', () => {
  /**
   * A hold that read the schedule as on sale, then waits for a seat: the cancel commits meanwhile,
   * and the hold's order is created after it, in a cancelled schedule.
   */
  async function holdInFlight(show: Show, seatId: number) {
    const blocker = await api.sql.reserve();
    await blocker`begin`;
    await blocker`select 1 from schedule_seats where schedule_id = ${show.scheduleId} and seat_id = ${seatId} for update`;
    const user = await newUser();
    const hold = placeOrder(api.sql, user, { scheduleId: show.scheduleId, seatIds: [seatId] }, limits);
    await untilSomeoneWaitsForALock(api.sql);
    return {
      /** Lets the hold go on; it commits its order. */
      async commit() {
        await blocker`rollback`;
        blocker.release();
        return (await hold).order.id;
      },
    };
  }

  const liveOrders = async (scheduleId: number) =>
    (
      await api.sql`
        select count(*)::int as n from orders
        where schedule_id = ${scheduleId} and status in ('created', 'awaiting_payment', 'paid')`
    )[0]!.n;

  it('commits before the job runs: the job settles it with the others', async () => {
    const { show } = await showWithOrders();
    const straggler = await holdInFlight(show, show.seatIds[15]!);

    expect((await cancelSchedule(show.scheduleId)).status).toBe(202);
    const orderId = await straggler.commit();
    await settleCancelledSchedules(api.sql);

    expect(await liveOrders(show.scheduleId)).toBe(0);
    const [order] = await api.sql`select status, cancel_reason from orders where id = ${orderId}`;
    expect(order).toEqual({ status: 'cancelled', cancel_reason: 'schedule_cancelled' });
  });

  it("commits after the job's last batch: the next run settles it", async () => {
    const { show } = await showWithOrders();
    const straggler = await holdInFlight(show, show.seatIds[16]!);

    expect((await cancelSchedule(show.scheduleId)).status).toBe(202);
    const last = await settleCancelledSchedules(api.sql);
    const orderId = await straggler.commit();
    const progress = (await cancelSchedule(show.scheduleId)).body.cancellation;
    const next = await settleCancelledSchedules(api.sql);

    expect(last).toMatchObject({ ordersCancelled: 4, ordersRefunded: 3, reachedEnd: true });
    expect(progress.ordersLeft).toBe(1);
    expect(next).toMatchObject({ ordersCancelled: 1, ordersRefunded: 0 });
    expect(await liveOrders(show.scheduleId)).toBe(0);
    const [order] = await api.sql`select status, cancel_reason from orders where id = ${orderId}`;
    expect(order).toEqual({ status: 'cancelled', cancel_reason: 'schedule_cancelled' });
  });
});
