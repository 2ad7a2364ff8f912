import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, untilSomeoneWaitsForALock } from '../test/db';
import { createShow, type Show } from '../test/fixtures';
import { inTx } from './client';
import { lockUserInSchedule, setOrderState } from './orders';
import { holdSeats } from './seats';
import { ensureUser } from './users';

let db: TestDatabase;
let show: Show;
let user: number;

beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
  show = await createShow(db.sql, { rows: 1, seatsPerRow: 10 });
  user = await ensureUser(db.sql, { sub: 'db-orders' });
});
afterAll(() => db.drop());

const hold = (seatIds: number[]) =>
  holdSeats(db.sql, {
    userId: user,
    scheduleId: show.scheduleId,
    seatIds,
    ttlSeconds: 300,
    maxSeatsPerUser: 8,
    singleSeatRuleChecked: true,
  });

describe('setOrderState', () => {
  it('keeps the hold expiry and the cancel reason when a change leaves them out', async () => {
    const { order } = await hold([show.seatIds[0]!]);
    await inTx(db.sql, (tx) =>
      setOrderState(tx, order!.id, { status: 'cancelled', holdExpiresAt: null, cancelReason: 'customer' }),
    );

    await inTx(db.sql, (tx) => setOrderState(tx, order!.id, { status: 'cancelled' }));

    const [row] = await db.sql`select hold_expires_at, cancel_reason from orders where id = ${order!.id}`;
    expect(row).toEqual({ hold_expires_at: null, cancel_reason: 'customer' });
  });
});

describe('the per-user lock', () => {
  it('is the same lock in TypeScript and in the hold function', async () => {
    let held: ReturnType<typeof hold> | undefined;

    await inTx(db.sql, async (tx) => {
      await lockUserInSchedule(tx, user, show.scheduleId);
      held = hold([show.seatIds[1]!]);
      await untilSomeoneWaitsForALock(db.sql);
    });

    expect((await held!).order).not.toBeNull();
  });
});

describe('a hold that waited for a seat', () => {
  // Found by the race suite under load: the old single-statement hold read orders with the
  // snapshot taken before it waited, so the lapsed holder it had waited for was invisible to it —
  // never expired, its item still live — and the insert hit the one-live-item-per-seat index.
  it('takes it when the hold it waited for has lapsed meanwhile, expiring that order', async () => {
    const other = await ensureUser(db.sql, { sub: 'db-orders-slow-holder' });
    const seat = show.seatIds[2]!;
    let waiting: ReturnType<typeof hold> | undefined;

    const slow = await inTx(db.sql, async (tx) => {
      const result = await holdSeats(tx, {
        userId: other,
        scheduleId: show.scheduleId,
        seatIds: [seat],
        ttlSeconds: 1,
        maxSeatsPerUser: 8,
        singleSeatRuleChecked: true,
      });
      // the slow hold's deadline (its transaction's start + 1 s) passes before it commits
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      waiting = hold([seat]);
      await untilSomeoneWaitsForALock(db.sql);
      return result.order!;
    });

    const { order } = await waiting!;
    expect(order?.items.map((i) => i.seatId)).toEqual([seat]);
    const [slowOrder] = await db.sql`select status, cancel_reason from orders where id = ${slow.id}`;
    expect(slowOrder).toEqual({ status: 'cancelled', cancel_reason: 'expired' });
  });
});

describe('the hold function', () => {
  it('refuses an empty list of seats instead of failing on an order of nothing', async () => {
    const result = await hold([]);
    expect(result.order).toBeNull();
  });
});
