import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSql } from '../db/client';
import { ensureUser } from '../db/users';
import { placeOrder, startPayment } from '../domain/orders';
import { applyPaymentEvent } from '../domain/payments';
import { changeScheduleStatus } from '../domain/schedules';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createShow } from '../test/fixtures';
import { handler, STOP_WITH_MS_LEFT } from './schedule-canceller';

const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 100 };
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
  setSql(db.sql);
});
afterAll(async () => {
  setSql(undefined);
  await db.drop();
});

/** A Lambda context with `msLeft` before the timeout. */
const contextWith = (msLeft: number) =>
  ({
    awsRequestId: 'r',
    functionName: 'scheduleCanceller',
    getRemainingTimeInMillis: () => msLeft,
  }) as Context;

/** A cancelled show with `n` held orders of one seat each. */
async function cancelledShow(n: number) {
  const show = await createShow(db.sql, { rows: 1, seatsPerRow: n });
  const user = await ensureUser(db.sql, { sub: `canceller-${show.scheduleId}` });
  const ids: number[] = [];
  for (const seatId of show.seatIds) {
    ids.push(
      (await placeOrder(db.sql, user, { scheduleId: show.scheduleId, seatIds: [seatId] }, limits)).order.id,
    );
  }
  await changeScheduleStatus(db.sql, show.scheduleId, 'cancelled');
  return { show, user, ids };
}

const openOrders = async (scheduleId: number) =>
  (
    await db.sql`select count(*)::int as n from orders where schedule_id = ${scheduleId} and order_is_open(orders)`
  )[0]!.n;

describe('the schedule canceller function', () => {
  it('settles until nothing is left while it has time', async () => {
    const { show } = await cancelledShow(3);

    const result = await handler({}, contextWith(60_000));

    expect(result).toMatchObject({ ordersCancelled: 3, reachedEnd: true, failed: [] });
    expect(await openOrders(show.scheduleId)).toBe(0);
  });

  it('takes no further order once its time is nearly up, and leaves the rest to the next run', async () => {
    const { show } = await cancelledShow(2);

    const result = await handler({}, contextWith(STOP_WITH_MS_LEFT - 1));

    expect(result).toMatchObject({ ordersCancelled: 0, reachedEnd: false });
    expect(await openOrders(show.scheduleId)).toBe(2);
    await handler({}, contextWith(60_000));
    expect(await openOrders(show.scheduleId)).toBe(0);
  });

  it('fails (for its alarm) when an order cannot be settled, after settling the others', async () => {
    const { show, user, ids } = await cancelledShow(2);
    await db.sql`update schedules set status = 'sales_open' where id = ${show.scheduleId}`;
    const payment = await startPayment(db.sql, { id: user, isAdmin: false }, ids[0]!, 'card', limits);
    await applyPaymentEvent(db.sql, 'card', {
      eventId: `canceller-${payment.id}`,
      type: 'payment.succeeded',
      paymentId: payment.id,
      pgTid: 't',
      amount: payment.amount,
      occurredAt: new Date().toISOString(),
    });
    await db.sql`update schedules set status = 'cancelled' where id = ${show.scheduleId}`;
    // the success was undone by hand: the order is paid, but there is no money on record to refund
    await db.sql`update payments set status = 'fail' where id = ${payment.id}`;

    await expect(handler({}, contextWith(60_000))).rejects.toThrow(/1 orders of cancelled schedules/);

    expect(await openOrders(show.scheduleId)).toBe(1);
  });
});
