import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql, type Sql, setSql } from '../../db/client';
import { migrate } from '../../db/migrate';
import { ensureUser, forgetUsers } from '../../db/users';
import { placeOrder, startPayment } from '../../domain/orders';
import { applyPaymentEvent } from '../../domain/payments';
import { sweep } from '../../domain/sweeper';
import { ensureDatabase, startEmbeddedPostgres } from '../../local/embedded-postgres';
import { dispatch, loadRoutes } from '../../local/gateway';
import { createTestDatabase, type TestDatabase } from '../db';
import { createShow, invariantViolations, type Show } from '../fixtures';

/**
 * Faults: a connection killed in the middle of a hold, of a payment being applied and of a sweep
 * batch leaves nothing half-done, and a retry succeeds; PostgreSQL stopping under the running
 * server gives 503 problem documents, then the server recovers by itself.
 */
const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 100 };
let db: TestDatabase;
let show: Show;

beforeAll(async () => {
  db = await createTestDatabase({ max: 10 });
  show = await createShow(db.sql, { rows: 2, seatsPerRow: 10, price: 500 });
});
afterAll(async () => {
  expect(await invariantViolations(db.sql)).toEqual({});
  await db.drop();
});

/** Holds `lockSql` (FOR UPDATE on some rows) so the victim blocks; then kills the victim's backend. */
async function killWhileBlocked(victim: Promise<unknown>, waitingOn: RegExp): Promise<unknown> {
  // settle handlers first: the victim fails the moment its backend is killed
  const settled = victim.then(
    () => 'completed',
    (e: unknown) => e,
  );
  for (let i = 0; i < 100; i++) {
    const [row] = await db.sql<{ pid: number }[]>`
      select pid, query from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`;
    if (row) {
      await db.sql`select pg_terminate_backend(${row.pid})`;
      return settled;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`victim never blocked (${waitingOn})`);
}

/**
 * postgres.js may still have a write scheduled on the killed socket; closing the client in the
 * same tick crashes inside it, so give it a moment first.
 */
async function settleThenEnd(sql: Sql) {
  await new Promise((r) => setTimeout(r, 200));
  await sql.end({ timeout: 5 }).catch(() => undefined);
}

/** A second connection that holds row locks until released. */
async function blocker(statement: (tx: Sql) => Promise<unknown>) {
  const conn = postgres(db.url, { max: 1, onnotice: () => {} }) as unknown as Sql;
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const done = conn.begin(async (tx) => {
    await statement(tx as unknown as Sql);
    ready();
    await released;
  });
  await isReady;
  return {
    release: async () => {
      release();
      await done;
      await conn.end();
    },
  };
}

describe('a connection killed mid-operation', () => {
  it('during a hold: nothing partial persists and a retry succeeds', async () => {
    const victimSql = createSql({ url: db.url, max: 1 });
    const user = await ensureUser(db.sql, { sub: 'killed-hold' });
    const [a, b] = show.seatIds;
    const lock = await blocker(
      (tx) =>
        tx`select 1 from schedule_seats where seat_id = ${b!} and schedule_id = ${show.scheduleId} for update`,
    );

    const outcome = await killWhileBlocked(
      placeOrder(victimSql, user, { scheduleId: show.scheduleId, seatIds: [a!, b!] }, limits),
      /hold/,
    );
    await lock.release();

    expect(outcome).toBeInstanceOf(Error);
    const [orders] = await db.sql`select count(*)::int as n from orders where user_id = ${user}`;
    const [held] =
      await db.sql`select count(*)::int as n from schedule_seats where seat_id in (${a!}, ${b!}) and status <> 'available'`;
    expect([orders!.n, held!.n]).toEqual([0, 0]);
    // the client's next attempt arrives on a fresh connection
    const retry = await placeOrder(db.sql, user, { scheduleId: show.scheduleId, seatIds: [a!, b!] }, limits);
    expect(retry.order.items).toHaveLength(2);
    await settleThenEnd(victimSql);
  });

  // Killing the backend inside an explicit transaction trips a postgres.js 3.4.9 defect: its
  // ROLLBACK is scheduled on the dead socket and throws outside any promise ("reading 'write'").
  // So this fault is the other way a transaction dies mid-apply — a statement aborted by the
  // server (lock timeout) — which leaves the connection alive.
  it('while a payment is being applied: the event is not recorded, and redelivery applies it once', async () => {
    const victimSql = createSql({ url: db.url, max: 1 });
    await victimSql`set lock_timeout = '300ms'`;
    const user = await ensureUser(db.sql, { sub: 'killed-payment' });
    const seat = show.seatIds[5]!;
    const placed = await placeOrder(db.sql, user, { scheduleId: show.scheduleId, seatIds: [seat] }, limits);
    const payment = await startPayment(db.sql, { id: user, isAdmin: false }, placed.order.id, 'card', limits);
    const event = {
      eventId: 'killed-1',
      type: 'payment.succeeded' as const,
      paymentId: payment.id,
      pgTid: 't',
      amount: payment.amount,
      occurredAt: new Date().toISOString(),
    };
    const lock = await blocker((tx) => tx`select 1 from orders where id = ${placed.order.id} for update`);

    const outcome = await applyPaymentEvent(victimSql, 'card', event).catch((e: { code?: string }) => e);
    await lock.release();

    expect(outcome).toMatchObject({ code: '55P03' });
    const [recorded] =
      await db.sql`select count(*)::int as n from webhook_events where event_id = 'killed-1'`;
    const [status] = await db.sql`select status from payments where id = ${payment.id}`;
    expect([recorded!.n, status!.status]).toEqual([0, 'initiated']);
    expect(await applyPaymentEvent(db.sql, 'card', event)).toBe('paid');
    expect(await applyPaymentEvent(db.sql, 'card', event)).toBe('duplicate');
    await settleThenEnd(victimSql);
  });

  it('during a sweep batch: nothing is half-expired, and the next sweep finishes the job', async () => {
    const victimSql = createSql({ url: db.url, max: 1 });
    const user = await ensureUser(db.sql, { sub: 'killed-sweep' });
    const seats = show.seatIds.slice(10, 14);
    const placed = await placeOrder(db.sql, user, { scheduleId: show.scheduleId, seatIds: seats }, limits);
    await db.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${placed.order.id}`;
    await db.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${placed.order.id}`;
    const lock = await blocker((tx) => tx`select 1 from orders where id = ${placed.order.id} for update`);

    const outcome = await killWhileBlocked(sweep(victimSql), /sweep/);
    await lock.release();

    expect(outcome).toBeInstanceOf(Error);
    const [order] = await db.sql`select status from orders where id = ${placed.order.id}`;
    const [held] =
      await db.sql`select count(*)::int as n from schedule_seats where order_id = ${placed.order.id} and status = 'held'`;
    expect([order!.status, held!.n]).toEqual(['created', 4]);
    const result = await sweep(db.sql);
    expect(result).toMatchObject({ seatsReleased: 4, ordersExpired: 1 });
    await settleThenEnd(victimSql);
  });
});

describe('PostgreSQL stops under the running server', () => {
  it('answers 503 problem+json meanwhile and recovers without a restart', async () => {
    // a PostgreSQL of its own: stopping the shared one would break the other test files
    const dataDir = await mkdtemp(join(tmpdir(), 'restart-pg-'));
    let pg = await startEmbeddedPostgres({ dataDir, persistent: true, ephemeral: true });
    const port = pg.port;
    const url = await ensureDatabase(pg.url, 'restart');
    const sql = createSql({ url, max: 2 });
    await migrate(sql);
    setSql(sql);
    forgetUsers();
    const routes = loadRoutes();
    const health = () =>
      dispatch(routes, { method: 'GET', url: '/health', headers: {}, body: Buffer.alloc(0) });
    try {
      expect((await health()).statusCode).toBe(200);

      await pg.stop();
      const down = await health();
      expect(down.statusCode).toBe(503);
      expect(down.headers?.['content-type']).toBe('application/problem+json');
      expect(JSON.parse(down.body!)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });

      pg = await startEmbeddedPostgres({ dataDir, persistent: true, ephemeral: true, port });
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await health()).statusCode ?? 0;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
    } finally {
      setSql(undefined);
      await sql.end({ timeout: 1 });
      await pg.stop();
    }
  }, 60_000);
});
