import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { createSql, type Sql } from '../db/client';
import { migrate } from '../db/migrate';
import { placeBestAvailable } from '../domain/best-available';
import { placeOrder } from '../domain/orders';
import { sweep } from '../domain/sweeper';
import { deployedRoutes } from '../functions/routes';
import { BUNDLE } from '../lib/ticketing-function';
import { ensureDatabase, freePort, startEmbeddedPostgres } from '../local/embedded-postgres';
import { seedLargeSchedule } from './data';
import { type HoldStrategy, strategies } from './strategies';

/**
 * `npm run bench`: the on-sale rush and the hot paths, measured side by side on one embedded
 * PostgreSQL 17. Prints a table and writes bench/results.json. `BENCH_QUICK=1` shrinks every
 * section to a smoke run (used by bench/bench.pg.test.ts).
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const QUICK = process.env.BENCH_QUICK === '1';
const SIZE = {
  rushSeats: QUICK ? 2_000 : 20_000,
  hotBlock: QUICK ? 200 : 2_000,
  clients: QUICK ? 20 : 200,
  seconds: QUICK ? 2 : 20,
  apiConnections: QUICK ? 8 : 64,
  seatMapSeats: QUICK ? 5_000 : 50_000,
  sweepHolds: QUICK ? 5_000 : 100_000,
};
const LIMITS = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 100_000 };

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const median = (values: number[]) => percentile(values, 50);

async function users(sql: Sql, count: number, prefix: string): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    insert into users (sub) select ${prefix} || '-' || g from generate_series(1, ${count}) as g returning id`;
  return rows.map((r) => r.id);
}

async function hotBlockOf(sql: Sql, scheduleId: number, size: number): Promise<number[]> {
  const rows = await sql<{ seatId: number }[]>`
    select seat_id as "seatId" from schedule_seats where schedule_id = ${scheduleId} order by seat_id limit ${size}`;
  return rows.map((r) => r.seatId);
}

async function doubleBookings(sql: Sql, scheduleId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select oi.schedule_seat_id from order_items oi join orders o on o.id = oi.order_id
      where o.schedule_id = ${scheduleId} and oi.status in ('held', 'booked')
      group by 1 having count(*) > 1) as twice`;
  return row!.n;
}

interface RushResult {
  holdsPerSec: number;
  attemptsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  doubleBookings: number;
  holds: number;
  attempts: number;
  seconds: number;
  conflictRate: number;
  sampleError?: string;
}

/**
 * `clients` loops, each repeatedly asking for 2 random seats of the hot block that it believes
 * free (fans see a slightly stale map), until the block is sold or time is up.
 */
async function rush(options: {
  clients: number;
  seconds: number;
  hot: number[];
  attempt: (client: number, seatIds: number[]) => Promise<'ok' | 'conflict' | number[]>;
}): Promise<Omit<RushResult, 'doubleBookings'>> {
  const free = [...options.hot];
  const remove = (id: number) => {
    const i = free.indexOf(id);
    if (i >= 0) free.splice(i, 1);
  };
  const latencies: number[] = [];
  let holds = 0;
  let errors = 0;
  let sampleError: string | undefined;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      while (performance.now() < deadline && free.length >= 2) {
        const a = free[Math.floor(Math.random() * free.length)]!;
        let b = a;
        while (b === a) b = free[Math.floor(Math.random() * free.length)]!;
        const t = performance.now();
        try {
          const outcome = await options.attempt(client, [a, b]);
          if (outcome !== 'conflict') {
            holds++;
            for (const id of Array.isArray(outcome) ? outcome : [a, b]) remove(id);
          }
        } catch (error) {
          errors++;
          sampleError ??= String((error as Error).message ?? error);
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    holdsPerSec: round(holds / seconds),
    attemptsPerSec: round(latencies.length / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    errors,
    holds,
    attempts: latencies.length,
    seconds: round(seconds, 2),
    conflictRate: round(latencies.length ? (latencies.length - holds - errors) / latencies.length : 0, 3),
    sampleError,
  };
}

async function rushStrategy(
  url: string,
  admin: Sql,
  name: string,
  strategy: HoldStrategy,
  clients = SIZE.clients,
): Promise<RushResult> {
  const { scheduleId } = await newSchedule(admin, SIZE.rushSeats);
  const hot = await hotBlockOf(admin, scheduleId, SIZE.hotBlock);
  const ids = await users(admin, clients, `rush-${name}`);
  const pool = createSql({ url, max: clients });
  try {
    const result = await rush({
      clients,
      seconds: SIZE.seconds,
      hot,
      attempt: (client, seatIds) => strategy(pool, { userId: ids[client]!, scheduleId, seatIds }),
    });
    return { ...result, doubleBookings: await doubleBookings(admin, scheduleId) };
  } finally {
    await pool.end();
  }
}

let benchVenue: { venueId: number; seats: number } | undefined;
/** A fresh performance of the 20,000-seat venue (created once), so every run starts equal. */
async function newSchedule(sql: Sql, seats: number) {
  if (!benchVenue || benchVenue.seats !== seats) {
    const created = await seedLargeSchedule(sql, { seats, schedules: 1 });
    benchVenue = { venueId: created.venueId, seats };
    return { scheduleId: created.scheduleId };
  }
  const [concert] = await sql<{ id: number }[]>`select id from concerts order by id limit 1`;
  const { createSchedule } = await import('../domain/catalog');
  const start = new Date(Date.now() + 30 * 86_400_000 + Math.random() * 1e9);
  const schedule = await createSchedule(sql, {
    concertId: concert!.id,
    venueId: benchVenue.venueId,
    startAt: start.toISOString(),
    endAt: new Date(start.getTime() + 7_200_000).toISOString(),
  });
  return { scheduleId: schedule.id };
}

// ---- API rush ------------------------------------------------------------------------------

async function startServer(url: string): Promise<{ base: string; child: ChildProcess }> {
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

async function apiRush(url: string, admin: Sql) {
  const { scheduleId } = await newSchedule(admin, SIZE.rushSeats);
  const hot = await hotBlockOf(admin, scheduleId, SIZE.hotBlock);
  const { base, child } = await startServer(url);
  try {
    const tokens = await Promise.all(
      Array.from({ length: SIZE.apiConnections }, async (_, i) => {
        const res = await fetch(`${base}/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sub: `api-rush-${i}` }),
        });
        return ((await res.json()) as { token: string }).token;
      }),
    );
    const free = [...hot];
    let holds = 0;
    const instance = autocannon({
      url: base,
      connections: SIZE.apiConnections,
      duration: SIZE.seconds,
      requests: [
        {
          method: 'POST',
          path: '/orders',
          setupRequest: (request: Record<string, unknown>, context: Record<string, unknown>) => {
            const a = free[Math.floor(Math.random() * free.length)]!;
            let b = a;
            while (b === a && free.length > 1) b = free[Math.floor(Math.random() * free.length)]!;
            context.seats = [a, b];
            return {
              ...request,
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}`,
              },
              body: JSON.stringify({ scheduleId, seatIds: [a, b] }),
            };
          },
          onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
            if (status !== 201) return;
            holds++;
            for (const id of context.seats as number[]) {
              const i = free.indexOf(id);
              if (i >= 0) free.splice(i, 1);
            }
            if (free.length < 2) (instance as unknown as { stop(): void }).stop();
          },
        },
      ],
    } as never);
    const result = (await instance) as autocannon.Result;
    const seconds = result.duration;
    const errors5xx = result['5xx'];
    // the project's hold path straight from postgres.js, at the API's concurrency
    const raw = await rushStrategy(url, admin, 'raw', strategies.project, SIZE.apiConnections);
    return {
      holdsPerSec: round(holds / seconds),
      p99Ms: result.latency.p99,
      p50Ms: result.latency.p50,
      errors5xx,
      requests: result.requests.total,
      rawHoldsPerSec: raw.holdsPerSec,
      rawP99Ms: raw.p99Ms,
      doubleBookings: await doubleBookings(admin, scheduleId),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/** The same rush, asking for "2 best seats" in the hot section instead of 2 random ones. */
async function bestAvailableRush(url: string, admin: Sql) {
  const { scheduleId } = await newSchedule(admin, SIZE.rushSeats);
  const hot = await hotBlockOf(admin, scheduleId, SIZE.hotBlock);
  const [first] = await admin<{ section: string }[]>`select section from seats where id = ${hot[0]!}`;
  const ids = await users(admin, SIZE.clients, 'best');
  const pool = createSql({ url, max: SIZE.clients });
  try {
    const result = await rush({
      clients: SIZE.clients,
      seconds: SIZE.seconds,
      hot,
      attempt: async (client) => {
        try {
          const placed = await placeBestAvailable(
            pool,
            ids[client]!,
            { scheduleId, quantity: 2, section: first!.section },
            LIMITS,
          );
          return placed.order.items.map((i) => i.seatId);
        } catch (error) {
          if ((error as { code?: string }).code === 'SOLD_OUT') return 'conflict';
          throw error;
        }
      },
    });
    return { ...result, doubleBookings: await doubleBookings(admin, scheduleId) };
  } finally {
    await pool.end();
  }
}

// ---- seat map ------------------------------------------------------------------------------

async function seatMap(url: string, admin: Sql) {
  const { scheduleId } = await seedLargeSchedule(admin, { seats: SIZE.seatMapSeats, schedules: 1 });
  const { base, child } = await startServer(url);
  const raw = createSql({ url, max: 1 });
  try {
    const api: number[] = [];
    const rawMs: number[] = [];
    let bytes = 0;
    let gzipBytes = 0;
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      const res = await fetch(`${base}/schedules/${scheduleId}/seats`, {
        headers: { 'accept-encoding': 'identity' },
      });
      bytes = (await res.arrayBuffer()).byteLength;
      api.push(performance.now() - t);
      t = performance.now();
      await raw`
        select ss.seat_id, seat.section, seat.row_label, seat.number, seat.seat_type, ss.price, ss.status
        from schedule_seats ss join seats seat on seat.id = ss.seat_id where ss.schedule_id = ${scheduleId}`;
      rawMs.push(performance.now() - t);
    }
    // what the API sends a client that accepts gzip (fetch itself would transparently decompress)
    const body = await (
      await fetch(`${base}/schedules/${scheduleId}/seats`, { headers: { 'accept-encoding': 'identity' } })
    ).arrayBuffer();
    gzipBytes = gzipSync(Buffer.from(body), { level: 1 }).length;
    return {
      seats: SIZE.seatMapSeats,
      apiMs: round(median(api.slice(2))),
      rawMs: round(median(rawMs.slice(2))),
      bytes,
      gzipBytes,
    };
  } finally {
    child.kill('SIGTERM');
    await raw.end();
  }
}

// ---- sweeper -------------------------------------------------------------------------------

/** `count` lapsed holds (two seats per order) on a schedule of `count` seats. */
export async function lapsedHolds(admin: Sql, count: number) {
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

export async function sweeperBench(url: string, admin: Sql) {
  const { scheduleId: flowSchedule } = await newSchedule(admin, SIZE.rushSeats);
  const flowSeats = await hotBlockOf(admin, flowSchedule, SIZE.rushSeats);
  const ids = await users(admin, 16, 'flow');
  const pool = createSql({ url, max: 16 });
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
          const seatIds = [flowSeats[Math.floor(Math.random() * flowSeats.length)]!];
          const t = performance.now();
          await placeOrder(pool, userId, { scheduleId: flowSchedule, seatIds }, LIMITS).catch(
            () => undefined,
          );
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

// ---- bundles -------------------------------------------------------------------------------

async function bundles(url: string) {
  const out = join(here, '.tmp', 'bundles');
  await rm(out, { recursive: true, force: true });
  const functions = [
    ...deployedRoutes.map(([name, r]) => ({ name, file: r.handler.file })),
    { name: 'paymentProcessor', file: 'payment-processor' },
    { name: 'sweeper', file: 'sweeper' },
    { name: 'outboxRelay', file: 'outbox-relay' },
    { name: 'migrate', file: 'migrate' },
  ];
  const timeImport = (file: string) => {
    const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
    const runs = Array.from({ length: 3 }, () =>
      Number(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          env: { ...process.env, DATABASE_URL: url },
        }).toString(),
      ),
    );
    return round(median(runs));
  };
  const results = [];
  for (const fn of functions) {
    const outfile = join(out, fn.name, 'index.mjs');
    await build({
      entryPoints: [join(root, 'functions', `${fn.file}.ts`)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: BUNDLE.target,
      minify: true,
      mainFields: BUNDLE.mainFields,
      external: BUNDLE.external,
      banner: { js: BUNDLE.banner },
      outfile,
      logLevel: 'error',
    });
    results.push({ name: fn.name, bytes: (await stat(outfile)).size, importMs: timeImport(outfile) });
  }
  const empty = join(out, 'empty.mjs');
  await mkdir(dirname(empty), { recursive: true });
  await writeFile(empty, 'export const handler = async () => ({});\n');
  return { bundles: results, emptyImportMs: timeImport(empty) };
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
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
    const log = (s: string) => console.error(`[bench ${Math.round((Date.now() - started) / 1000)}s] ${s}`);

    const rushResults: Record<string, RushResult> = {};
    for (const [name, strategy] of Object.entries(strategies)) {
      log(`rush: ${name}`);
      rushResults[name] = await rushStrategy(url, admin, name, strategy);
    }
    log('rush: best available (quantity 2)');
    const bestAvailable = await bestAvailableRush(url, admin);
    log('api rush');
    const api = await apiRush(url, admin);
    log('seat map');
    const seatMapResult = await seatMap(url, admin);
    log('sweeper');
    const sweeper = await sweeperBench(url, admin);
    log('bundles');
    const { bundles: bundleResults, emptyImportMs } = await bundles(url);

    const results = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL 17 (embedded, fsync off)`,
      quick: QUICK,
      sizes: SIZE,
      rush: rushResults,
      bestAvailable,
      api,
      seatMap: seatMapResult,
      sweeper,
      bundles: bundleResults,
      emptyImportMs,
    };
    if (!QUICK) await writeFile(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    printTable(results);
    return results;
  } finally {
    await admin.end();
    await stop();
  }
}

function printTable(r: Awaited<ReturnType<typeof main>> extends infer T ? T : never) {
  const rows = Object.entries(r.rush).map(([name, x]) => ({
    strategy: name,
    'holds/s': x.holdsPerSec,
    'attempts/s': x.attemptsPerSec,
    'p50 ms': x.p50Ms,
    'p99 ms': x.p99Ms,
    errors: x.errors,
    'double bookings': x.doubleBookings,
  }));
  rows.push({
    strategy: 'best available ×2',
    'holds/s': r.bestAvailable.holdsPerSec,
    'attempts/s': r.bestAvailable.attemptsPerSec,
    'p50 ms': r.bestAvailable.p50Ms,
    'p99 ms': r.bestAvailable.p99Ms,
    errors: r.bestAvailable.errors,
    'double bookings': r.bestAvailable.doubleBookings,
  });
  console.table(rows);
  console.table([{ ...r.api }]);
  console.table([{ ...r.seatMap }]);
  console.table([{ ...r.sweeper }]);
  console.table(r.bundles);
  console.log(`empty module import: ${r.emptyImportMs} ms`);
}

export const runBench = main;

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
