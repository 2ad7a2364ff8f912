import type { Sql } from '../db/client';
import { placeOrder } from '../domain/orders';
import { LIMITS } from './harness';

/**
 * Ways to hold seats, side by side on the same data. `project` is the service's own path; the
 * others reproduce the locking of the seed and of the open-source systems it is compared with.
 * Each returns 'ok' or 'conflict'; anything thrown is an error (a deadlock, say).
 */
export type HoldOutcome = 'ok' | 'conflict';
export type HoldStrategy = (
  sql: Sql,
  request: { userId: number; scheduleId: number; seatIds: number[] },
) => Promise<HoldOutcome>;

class Conflict extends Error {}
const asOutcome = async (run: () => Promise<unknown>): Promise<HoldOutcome> => {
  try {
    await run();
    return 'ok';
  } catch (error) {
    if (error instanceof Conflict) return 'conflict';
    throw error;
  }
};

/** The service: per-user lock, then one statement that locks, checks and writes (domain/orders.ts). */
export const project: HoldStrategy = async (sql, r) => {
  try {
    await placeOrder(sql, r.userId, { scheduleId: r.scheduleId, seatIds: r.seatIds }, LIMITS);
    return 'ok';
  } catch (error) {
    if ((error as { code?: string }).code === 'SEAT_UNAVAILABLE') return 'conflict';
    throw error;
  }
};

/** The seed's transaction: SELECT … FOR UPDATE then UPDATE, seat by seat, in request order. */
export const seedNaive: HoldStrategy = (sql, r) =>
  asOutcome(() =>
    sql.begin(async (tx) => {
      const rows: { id: number; price: string }[] = [];
      for (const seatId of r.seatIds) {
        const [row] = await tx<{ id: number; status: string; price: string }[]>`
          select id, status, price from schedule_seats
          where schedule_id = ${r.scheduleId} and seat_id = ${seatId} for update`;
        if (row?.status !== 'available') throw new Conflict();
        rows.push(row);
      }
      const total = rows.reduce((n, s) => n + Number(s.price), 0);
      const [order] = await tx<{ id: number }[]>`
        insert into orders (user_id, schedule_id, total_amount, hold_expires_at)
        values (${r.userId}, ${r.scheduleId}, ${total}, now() + interval '5 minutes') returning id`;
      for (const s of rows) {
        await tx`
          update schedule_seats set status = 'held', hold_expires_at = now() + interval '5 minutes',
                 order_id = ${order!.id}, version = version + 1
          where id = ${s.id}`;
        await tx`insert into order_items (order_id, schedule_seat_id, price) values (${order!.id}, ${s.id}, ${s.price})`;
      }
    }),
  );

/** The peers' write step, once their seats are secured: order, seats held, items. */
async function writeOrder(
  tx: Sql,
  r: { userId: number; scheduleId: number },
  rows: { id: number; price: string }[],
) {
  const [order] = await tx<{ id: number }[]>`
    insert into orders (user_id, schedule_id, total_amount, hold_expires_at)
    values (${r.userId}, ${r.scheduleId}, ${rows.reduce((n, s) => n + Number(s.price), 0)}, now() + interval '5 minutes')
    returning id`;
  const ids = rows.map((s) => s.id);
  await tx`
    update schedule_seats set status = 'held', hold_expires_at = now() + interval '5 minutes',
           order_id = ${order!.id}, version = version + 1
    where id = any(${ids}::bigint[])`;
  await tx`
    insert into order_items (order_id, schedule_seat_id, price)
    select ${order!.id}, id, price from schedule_seats where id = any(${ids}::bigint[])`;
}

/** pretix's approach: transaction-level advisory locks on the sorted seat keys, then check and write. */
export const pretixAdvisory: HoldStrategy = (sql, r) =>
  asOutcome(() =>
    sql.begin(async (tx) => {
      const keys = [...r.seatIds].sort((a, b) => a - b);
      await tx`select pg_advisory_xact_lock(${r.scheduleId}::int, k::int) from unnest(${keys}::bigint[]) as k`;
      const rows = await tx<{ id: number; status: string; price: string }[]>`
        select id, status, price from schedule_seats
        where schedule_id = ${r.scheduleId} and seat_id = any(${keys}::bigint[])`;
      if (rows.length !== keys.length || rows.some((s) => s.status !== 'available')) throw new Conflict();
      await writeOrder(tx as unknown as Sql, r, rows);
    }),
  );

/** alf.io's approach: claim available rows with FOR UPDATE SKIP LOCKED, then write. */
export const alfioSkipLocked: HoldStrategy = (sql, r) =>
  asOutcome(() =>
    sql.begin(async (tx) => {
      const rows = await tx<{ id: number; price: string }[]>`
        select id, price from schedule_seats
        where schedule_id = ${r.scheduleId} and seat_id = any(${r.seatIds}::bigint[]) and status = 'available'
        for update skip locked`;
      if (rows.length !== r.seatIds.length) throw new Conflict();
      await writeOrder(tx as unknown as Sql, r, rows);
    }),
  );

export const strategies = { project, seedNaive, pretixAdvisory, alfioSkipLocked };
