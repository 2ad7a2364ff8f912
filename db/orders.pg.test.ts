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
