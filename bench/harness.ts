import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSql, type Sql } from '../db/client';
import { migrate } from '../db/migrate';
import { ensureDatabase, freePort, startEmbeddedPostgres } from '../local/embedded-postgres';

/** What every benchmark shares: sizes, statistics, the database, the local server, progress. */

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const root = join(benchDir, '..');

/** `BENCH_QUICK=1` shrinks every benchmark to a smoke run. */
export const QUICK = process.env.BENCH_QUICK === '1';
export const SIZE = {
  rushSeats: QUICK ? 2_000 : 20_000,
  hotBlock: QUICK ? 200 : 2_000,
  clients: QUICK ? 20 : 200,
  seconds: QUICK ? 2 : 20,
  apiConnections: QUICK ? 8 : 64,
  seatMapSeats: QUICK ? 5_000 : 50_000,
  sweepHolds: QUICK ? 5_000 : 100_000,
  /**
   * The on-sale crowd: 20,000 in the issue, scaled down until the crowd's own event loop is not
   * what the bench measures (`crowdLagP99Ms`): at 2,000 fans it lagged 664 ms at p99 with the room
   * on, at 500 23–30 ms, at 250 11–17 ms. `BENCH_ONSALE_FANS` sets it.
   */
  onSaleFans: QUICK ? 20 : Number(process.env.BENCH_ONSALE_FANS ?? 500),
};
/** The service's limits, with a per-user cap no benchmark reaches (one user holds many seats). */
export const LIMITS = {
  holdTtlSeconds: 300,
  paymentTtlSeconds: 600,
  maxSeatsPerOrder: 8,
  maxSeatsPerUser: 100_000,
};

// ---- statistics ----------------------------------------------------------------------------

export const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
export const round = (n: number, digits = 1) => Number(n.toFixed(digits));
export const median = (values: number[]) => percentile(values, 50);

// ---- progress ------------------------------------------------------------------------------

const started = Date.now();
/** A progress line on stderr, so stdout keeps only the tables. */
export const log = (s: string) => console.error(`[bench ${Math.round((Date.now() - started) / 1000)}s] ${s}`);

// ---- database ------------------------------------------------------------------------------

/**
 * Runs `bench` against `DATABASE_URL`, or else against an embedded PostgreSQL 17 in a temp dir
 * (fsync off, the same for every contender), migrated first.
 */
export async function withDatabase<T>(bench: (url: string, admin: Sql) => Promise<T>): Promise<T> {
  let url = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-pg-'));
    const pg = await startEmbeddedPostgres({ dataDir, persistent: false, ephemeral: true });
    url = await ensureDatabase(pg.url, 'bench');
    stop = pg.stop;
  }
  const admin = createSql({ url, max: 4 });
  try {
    await migrate(admin);
    return await bench(url, admin);
  } finally {
    await admin.end();
    await stop();
  }
}

/** Seats of the schedule held or booked by two orders at once: must stay 0. */
export async function doubleBookings(sql: Sql, scheduleId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select oi.schedule_seat_id from order_items oi join orders o on o.id = oi.order_id
      where o.schedule_id = ${scheduleId} and oi.status in ('held', 'booked')
      group by 1 having count(*) > 1) as twice`;
  return row!.n;
}

/**
 * Free seats nobody buying 2 can use, after a run in which every pick takes 2 seats:
 * - `strandedSingles`: both neighbours in the row taken;
 * - `isolatedSeats`: no free neighbour at all, row ends included;
 * - `strandedSeats`: the isolated seats a pick created. Pairs fill a row of an even number of
 *   seats completely, and necessarily leave one seat of an odd row: so every isolated seat of an
 *   even row counts, and all but one of an odd row.
 */
export async function singleSeats(sql: Sql, scheduleId: number) {
  const [row] = await sql<{ stranded: number; isolated: number; created: number }[]>`
    with state as (
      -- seats are numbered 1..n without gaps in each row: the neighbours are the previous and next
      select seat.section, seat.row_label, seat_is_free(ss) as free,
             count(*) over (partition by seat.section, seat.row_label) as row_seats,
             lag(seat_is_free(ss)) over w as l, lead(seat_is_free(ss)) over w as r
      from schedule_seats ss join seats seat on seat.id = ss.seat_id where ss.schedule_id = ${scheduleId}
      window w as (partition by seat.section, seat.row_label order by seat.number)
    ), singles as (
      select section, row_label, row_seats,
             l = false and r = false as between_taken,
             coalesce(l, false) = false and coalesce(r, false) = false as isolated
      from state
      where free
    ), per_row as (
      select count(*) filter (where between_taken) as stranded, count(*) filter (where isolated) as isolated,
             max(row_seats) % 2 as forced
      from singles group by section, row_label
    )
    select coalesce(sum(stranded), 0)::int as stranded, coalesce(sum(isolated), 0)::int as isolated,
           coalesce(sum(greatest(isolated - forced, 0)), 0)::int as created
    from per_row`;
  return { strandedSingles: row!.stranded, isolatedSeats: row!.isolated, strandedSeats: row!.created };
}

// ---- local server --------------------------------------------------------------------------

/** `npm start`'s server in a child process, its pool as large as the API benchmark's connections. */
export async function startServer(
  url: string,
  env: Record<string, string> = {},
): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'local/server.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: url,
      PORT: String(port),
      DB_POOL_MAX: String(SIZE.apiConnections),
      SWEEP_INTERVAL_SECONDS: '3600',
      MAX_SEATS_PER_USER: '100000',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return { base, child };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('local server did not start');
}
