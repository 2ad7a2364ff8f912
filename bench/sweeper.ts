import { createSql, type Sql } from '../db/client';
import { sweep } from '../domain/sweeper';
import { hotBlockOf, newSchedule, seedLargeSchedule, users } from './data';
import { log, percentile, QUICK, round, SIZE } from './harness';
import { SeatPicker } from './seat-picker';
import { strategies } from './strategies';

/** `count` lapsed holds (two seats per order) on a schedule of `count` seats. */
async function lapsedHolds(admin: Sql, count: number) {
  const { scheduleId } = await seedLargeSchedule(admin, { seats: count, schedules: 1 });
  const [user] = await users(admin, 1, `lapsed-${scheduleId}`);
  await admin`
    with seats as (
      select id, price, (row_number() over (order by id) - 1) / 2 as pair from schedule_seats where schedule_id = ${scheduleId}
    ), orders_made as (
      insert into orders (user_id, schedule_id, total_amount, hold_expires_at)
      select ${user!}, ${scheduleId}, sum(price), now() - interval '1 minute' from seats group by pair order by pair
      returning id
    ), numbered as (
      select id, row_number() over (order by id) - 1 as pair from orders_made
    ), held as (
      update schedule_seats ss set status = 'held', hold_expires_at = now() - interval '1 minute', order_id = n.id
      from seats s join numbered n on n.pair = s.pair where ss.id = s.id
      returning ss.id, ss.price, n.id as order_id
    )
    insert into order_items (order_id, schedule_seat_id, price) select order_id, id, price from held`;
  await admin`analyze`;
  return scheduleId;
}

/**
 * `npm run bench -- sweeper`: the sweeper expiring many lapsed holds while fans keep holding seats
 * on another schedule, vs one bulk update under the same traffic; the fans' hold p99 in each case.
 */
export async function sweeperBench(url: string, admin: Sql) {
  log('sweeper');
  const { scheduleId: flowSchedule } = await newSchedule(admin, SIZE.rushSeats);
  // every seat of the schedule, never struck off: the flow only has to keep the database busy
  const flowSeats = new SeatPicker(await hotBlockOf(admin, flowSchedule, SIZE.rushSeats));
  const ids = await users(admin, 16, 'flow');
  const pool = createSql({ url, max: 16, connectTimeoutSeconds: 60 });
  /** Holds keep flowing on another schedule while `during` runs; their latencies are returned. */
  const flowWhile = async (during: Promise<unknown>) => {
    let done = false;
    void during.finally(() => {
      done = true;
    });
    const latencies: number[] = [];
    await Promise.all(
      ids.map(async (userId) => {
        while (!done) {
          const seatIds = flowSeats.pick(1);
          const t = performance.now();
          await strategies
            .project(pool, { userId, scheduleId: flowSchedule, seatIds })
            .catch(() => undefined);
          latencies.push(performance.now() - t);
        }
      }),
    );
    return latencies;
  };
  try {
    await lapsedHolds(admin, SIZE.sweepHolds);
    const idle = await flowWhile(new Promise((r) => setTimeout(r, QUICK ? 500 : 3000)));
    const sweepSql = createSql({ url, max: 1 });
    let ms = 0;
    let expired = 0;
    const during = await flowWhile(
      (async () => {
        const t = performance.now();
        const result = await sweep(sweepSql, { maxBatches: 10_000 });
        ms = performance.now() - t;
        expired = result.seatsReleased;
      })(),
    );
    await sweepSql.end();

    // the baseline under the same load: one bulk update of every lapsed hold, in one transaction
    await lapsedHolds(admin, SIZE.sweepHolds);
    let bulkMs = 0;
    const duringBulk = await flowWhile(
      (async () => {
        const t = performance.now();
        await admin.begin(
          (tx) => tx`
            with seats as (
              update schedule_seats set status = 'available', hold_expires_at = null, order_id = null, version = version + 1
              where status in ('held', 'pending_payment') and hold_expires_at <= now()
              returning order_id
            ), expired as (
              update orders set status = 'cancelled', cancel_reason = 'expired', hold_expires_at = null, total_amount = 0
              where id in (select order_id from seats) returning id
            )
            update order_items set status = 'cancelled' where order_id in (select id from expired) and status = 'held'`,
        );
        bulkMs = performance.now() - t;
      })(),
    );
    return {
      expired,
      ms: Math.round(ms),
      bulkMs: Math.round(bulkMs),
      holdP99IdleMs: round(percentile(idle, 99)),
      holdP99SweepMs: round(percentile(during, 99)),
      holdP99BulkMs: round(percentile(duringBulk, 99)),
      holdsDuringSweep: during.length,
    };
  } finally {
    await pool.end();
  }
}
