import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser } from '../db/users';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createShow, invariantViolations, type Show } from '../test/fixtures';
import { placeOrder, startPayment } from './orders';
import { sweep } from './sweeper';

let db: TestDatabase;
const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 50, maxSeatsPerUser: 10_000 };

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
});
afterAll(async () => {
  expect(await invariantViolations(db.sql)).toEqual({});
  await db.drop();
});

/** `count` orders of five consecutive seats each, held by `user`; their ids. */
async function ordersOfFive(show: Show, user: number, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const seatIds = show.seatIds.slice(i * 5, i * 5 + 5);
    ids.push((await placeOrder(db.sql, user, { scheduleId: show.scheduleId, seatIds }, limits)).order.id);
  }
  return ids;
}

async function lapse(orderIds: number[]) {
  await db.sql`update orders set hold_expires_at = now() - interval '1 s' where id = any(${orderIds}::bigint[])`;
  await db.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = any(${orderIds}::bigint[])`;
}

describe('sweep', () => {
  it('expires lapsed holds in batches, frees their seats and leaves live holds alone', async () => {
    const show = await createShow(db.sql, { rows: 5, seatsPerRow: 20 });
    const user = await ensureUser(db.sql, { sub: 'sweep-user' });
    const ids = await ordersOfFive(show, user, 10);
    await lapse(ids.slice(0, 7));

    const result = await sweep(db.sql, { batchSize: 4 });

    expect(result).toMatchObject({ seatsReleased: 35, ordersExpired: 7 });
    expect(result.batches).toBeGreaterThan(1);
    const statuses =
      await db.sql`select status, count(*)::int as n from orders where schedule_id = ${show.scheduleId} group by 1 order by 1`;
    expect(statuses).toEqual([
      { status: 'cancelled', n: 7 },
      { status: 'created', n: 3 },
    ]);
    const [events] = await db.sql`select count(*)::int as n from outbox where detail_type = 'order.expired'`;
    expect(events!.n).toBe(7);
    expect(await sweep(db.sql)).toMatchObject({ seatsReleased: 0, ordersExpired: 0 });
  });

  it('closes the open payment of an awaiting_payment order it expires, and leaves live ones open', async () => {
    const show = await createShow(db.sql, { rows: 1, seatsPerRow: 10 });
    const caller = { id: await ensureUser(db.sql, { sub: 'sweep-payer' }), isAdmin: false };
    const [lapsing, live] = await ordersOfFive(show, caller.id, 2);
    const closing = await startPayment(db.sql, caller, lapsing!, 'card', limits);
    const open = await startPayment(db.sql, caller, live!, 'kakao', limits);
    await lapse([lapsing!]);

    expect(await sweep(db.sql)).toMatchObject({ ordersExpired: 1 });

    const rows = await db.sql`
      select id, status, flag from payments where id in (${closing.id}, ${open.id}) order by id`;
    expect(rows).toEqual([
      { id: closing.id, status: 'fail', flag: 'order expired' },
      { id: open.id, status: 'initiated', flag: null },
    ]);
  });

  it('two sweepers at once expire each order once', async () => {
    const show = await createShow(db.sql, { rows: 10, seatsPerRow: 20 });
    const user = await ensureUser(db.sql, { sub: 'sweep-user-2' });
    const ids = await ordersOfFive(show, user, 40);
    await lapse(ids);
    const before = await db.sql`select count(*)::int as n from outbox where detail_type = 'order.expired'`;

    const [a, b] = await Promise.all([sweep(db.sql, { batchSize: 10 }), sweep(db.sql, { batchSize: 10 })]);

    expect(a.ordersExpired + b.ordersExpired).toBe(40);
    expect(a.seatsReleased + b.seatsReleased).toBe(200);
    const after = await db.sql`select count(*)::int as n from outbox where detail_type = 'order.expired'`;
    expect(after[0]!.n - before[0]!.n).toBe(40);
  });

  it('races fans taking the same lapsed seats: every seat ends in one order or free', async () => {
    const show = await createShow(db.sql, { rows: 4, seatsPerRow: 25 });
    const user = await ensureUser(db.sql, { sub: 'sweep-loser' });
    const ids = await ordersOfFive(show, user, 20);
    await lapse(ids);
    const fans = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ensureUser(db.sql, { sub: `racer-${i}` })),
    );

    const results = await Promise.allSettled([
      sweep(db.sql, { batchSize: 7 }),
      ...fans.map((fan, i) =>
        placeOrder(
          db.sql,
          fan,
          { scheduleId: show.scheduleId, seatIds: show.seatIds.slice(i * 5, i * 5 + 5) },
          limits,
        ),
      ),
      sweep(db.sql, { batchSize: 3 }),
    ]);

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const live = await db.sql`
      select count(*)::int as n from schedule_seats where schedule_id = ${show.scheduleId} and status = 'held' and hold_expires_at > now()`;
    expect(live[0]!.n).toBe(100);
    const lost =
      await db.sql`select count(*)::int as n from orders where id = any(${ids}::bigint[]) and status = 'cancelled'`;
    expect(lost[0]!.n).toBe(20);
  });
});
