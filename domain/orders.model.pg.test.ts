import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser } from '../db/users';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createShow, invariantViolations } from '../test/fixtures';
import { cancelOrder, placeOrder } from './orders';
import { sweep } from './sweeper';

/**
 * Model-based test: random sequences of hold / cancel / lapse / sweep run against the real service
 * and against a few lines of in-memory truth about seats; after every step the seat map and the
 * order statuses must agree with the model.
 */
const SEATS = 6;
const USERS = 3;
const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 4, maxSeatsPerUser: 3 };

interface Model {
  holder: (number | null)[];
  orders: { user: number; seats: number[]; status: 'created' | 'cancelled'; lapsed: boolean }[];
}
interface Real {
  scheduleId: number;
  seatIds: number[];
  userIds: number[];
  orderIds: number[];
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
});
afterAll(async () => {
  expect(await invariantViolations(db.sql)).toEqual({});
  await db.drop();
});

const live = (m: Model, i: number) => m.orders[i]!.status === 'created' && !m.orders[i]!.lapsed;
const isFree = (m: Model, seat: number) => {
  const h = m.holder[seat];
  return h === null || h === undefined || !live(m, h);
};
const liveSeatsOf = (m: Model, user: number) =>
  m.orders.reduce((n, o, i) => n + (o.user === user && live(m, i) ? o.seats.length : 0), 0);

const codeOf = async (run: () => Promise<unknown>) => {
  try {
    await run();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

async function agree(m: Model, r: Real) {
  const seats = await db.sql<{ free: boolean }[]>`
    select (ss.status = 'available' or (ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now())) as free
    from schedule_seats ss where ss.schedule_id = ${r.scheduleId} order by ss.seat_id`;
  expect(seats.map((s) => s.free)).toEqual(m.holder.map((_, i) => isFree(m, i)));
  if (r.orderIds.length === 0) return;
  const orders = await db.sql<
    { id: number; status: string }[]
  >`select id, status from orders where id = any(${r.orderIds}::bigint[]) order by id`;
  expect(orders.map((o) => o.status)).toEqual(m.orders.map((o) => o.status));
}

class Hold implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly seats: number[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // the seat limit is reported before taken seats: it is the user's own to fix
    const expected =
      liveSeatsOf(m, this.user) + this.seats.length > limits.maxSeatsPerUser
        ? 'SEAT_LIMIT_EXCEEDED'
        : this.seats.every((s) => isFree(m, s))
          ? 'ok'
          : 'SEAT_UNAVAILABLE';
    let orderId = 0;
    const code = await codeOf(async () => {
      orderId = (
        await placeOrder(
          db.sql,
          r.userIds[this.user]!,
          { scheduleId: r.scheduleId, seatIds: this.seats.map((s) => r.seatIds[s]!) },
          limits,
        )
      ).order.id;
    });
    expect(code).toBe(expected);
    if (code !== 'ok') return;
    const index = m.orders.push({ user: this.user, seats: this.seats, status: 'created', lapsed: false }) - 1;
    r.orderIds.push(orderId);
    for (const s of this.seats) {
      const previous = m.holder[s];
      // taking a lapsed hold expires the whole order that had it
      if (previous !== null && previous !== undefined && m.orders[previous]!.status === 'created')
        m.orders[previous]!.status = 'cancelled';
      m.holder[s] = index;
    }
    await agree(m, r);
  }
  toString = () => `hold(u${this.user}, [${this.seats}])`;
}

class Cancel implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(m: Model, r: Real) {
    const i = this.pick % m.orders.length;
    const order = m.orders[i]!;
    const expected = live(m, i) ? 'ok' : 'NOTHING_CANCELLABLE';
    const code = await codeOf(() =>
      cancelOrder(db.sql, { id: r.userIds[order.user]!, isAdmin: false }, r.orderIds[i]!),
    );
    expect(code).toBe(expected);
    if (code === 'ok') {
      order.status = 'cancelled';
      for (const s of order.seats) if (m.holder[s] === i) m.holder[s] = null;
    }
    await agree(m, r);
  }
  toString = () => `cancel(#${this.pick})`;
}

class Lapse implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.orders.some((_, i) => live(m as Model, i));
  async run(m: Model, r: Real) {
    const candidates = m.orders.map((_, i) => i).filter((i) => live(m, i));
    const i = candidates[this.pick % candidates.length]!;
    await db.sql`update orders set hold_expires_at = now() - interval '1 second' where id = ${r.orderIds[i]!}`;
    await db.sql`update schedule_seats set hold_expires_at = now() - interval '1 second' where order_id = ${r.orderIds[i]!}`;
    m.orders[i]!.lapsed = true;
    await agree(m, r);
  }
  toString = () => `lapse(#${this.pick})`;
}

class Sweep implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    await sweep(db.sql);
    m.orders.forEach((o, i) => {
      if (o.status === 'created' && o.lapsed) {
        o.status = 'cancelled';
        for (const s of o.seats) if (m.holder[s] === i) m.holder[s] = null;
      }
    });
    await agree(m, r);
  }
  toString = () => 'sweep';
}

const commands = fc.commands(
  [
    fc
      .tuple(fc.nat(USERS - 1), fc.uniqueArray(fc.nat(SEATS - 1), { minLength: 1, maxLength: 3 }))
      .map(([u, s]) => new Hold(u, s)),
    fc.nat(20).map((p) => new Cancel(p)),
    fc.nat(20).map((p) => new Lapse(p)),
    fc.constant(new Sweep()),
  ],
  { maxCommands: 14 },
);

describe('holds, cancellations, expiry and sweeps against a model', () => {
  it('agree on every seat and every order after every step', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        run++;
        const show = await createShow(db.sql, { rows: 1, seatsPerRow: SEATS });
        const userIds = await Promise.all(
          Array.from({ length: USERS }, (_, u) => ensureUser(db.sql, { sub: `model-${run}-${u}` })),
        );
        await fc.asyncModelRun(
          () => ({
            model: { holder: Array(SEATS).fill(null), orders: [] },
            real: { scheduleId: show.scheduleId, seatIds: show.seatIds, userIds, orderIds: [] },
          }),
          cmds,
        );
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
