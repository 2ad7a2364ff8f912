import postgres from 'postgres';
import { createSql, type Db, type Sql, type Tx } from '../db/client';
import { expireLapsedBatch, findOrderView } from '../db/orders';
import { scheduleReport } from '../db/reports';
import * as seats from '../db/seats';

/**
 * EXPLAIN (ANALYZE) of the hot queries — seat map, availability, hold, best-available search,
 * sweeper batch, schedule report, an order's view — exactly as the data functions send them, and
 * the plan nodes that read `schedule_seats` sequentially (there must be none). The plans come from
 * auto_explain, so the statements inside `hold_seats`, `expire_orders` and `order_json` are seen
 * too. `npm run explain` prints the plans on a fresh 50,000-seat venue; scripts/explain.pg.test.ts
 * fails on a sequential scan.
 */
export interface ExplainedQuery {
  name: string;
  /** The statement as sent, or the statement inside a function it called. */
  query: string;
  seqScans: string[];
  /** Rows of the tables that grow with venues and sales the statement read (kept or filtered out), over all loops. */
  rowsRead: number;
  ms: number;
  plan: unknown;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function seqScansOf(node: PlanNode, found: string[] = []): string[] {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) found.push(node['Relation Name']);
  for (const child of node.Plans ?? []) seqScansOf(child, found);
  return found;
}

const growing = ['seats', 'schedule_seats', 'orders', 'order_items', 'payments'];
function rowsReadBy(node: PlanNode): number {
  const own = growing.includes(node['Relation Name'] ?? '')
    ? ((node['Actual Rows'] ?? 0) +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)) *
      (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((n, child) => n + rowsReadBy(child), 0);
}

class Rollback extends Error {}

/** Runs `fn` in a transaction that is always rolled back. */
async function rolledBack(sql: Sql, fn: (tx: Tx) => Promise<unknown>): Promise<void> {
  await sql
    .begin(async (tx) => {
      await fn(tx as unknown as Tx);
      throw new Rollback();
    })
    .catch((e) => {
      if (!(e instanceof Rollback)) throw e;
    });
}

/** auto_explain's message: `duration: 1.234 ms  plan:` and the plan as JSON. */
function parsePlanNotice(message: string): { ms: number; query: string; plan: PlanNode } | undefined {
  const match = /^duration: ([\d.]+) ms\s+plan:\s*([\s\S]*)$/.exec(message);
  if (!match) return undefined;
  const explained = JSON.parse(match[2]!) as { 'Query Text': string; Plan: PlanNode };
  return { ms: Number(match[1]), query: explained['Query Text'], plan: explained.Plan };
}

export async function explainHotQueries(url: string, scheduleId: number): Promise<ExplainedQuery[]> {
  const notices: string[] = [];
  // statements sent as the application sends them (unnamed, planned per call), and auto_explain
  // logging every plan, nested statements included, back to this client as notices
  const sql = postgres(url, {
    max: 1,
    prepare: false,
    onnotice: (notice) => notices.push(notice.message ?? ''),
  }) as unknown as Sql;
  try {
    const [sample] = await sql<{ seatIds: number[] }[]>`
      select array_agg(seat_id order by seat_id) as "seatIds"
      from (select seat_id from schedule_seats where schedule_id = ${scheduleId} order by seat_id limit 8) s`;
    const userId = (
      await sql<
        { id: number }[]
      >`insert into users (sub) values ('explain-' || gen_random_uuid()) returning id`
    )[0]!.id;
    const hold = (db: Db, seatIds: number[]) =>
      seats.holdSeats(db, {
        userId,
        scheduleId,
        seatIds,
        ttlSeconds: 300,
        maxSeatsPerUser: 8,
        singleSeatRuleChecked: true,
      });
    // an order to read back (its seats are not the ones the hold case takes)
    const placed = (await hold(sql, sample!.seatIds.slice(4)))!.order!;
    const cases: [string, (tx: Tx) => Promise<unknown>][] = [
      [
        'seat map',
        (tx) =>
          seats.seatMapPage(tx, scheduleId, { afterSeatId: 0, limit: 20_000, maxBytes: 4e6, admin: false }),
      ],
      ['seat status', (tx) => seats.seatStatusBits(tx, scheduleId)],
      ['availability', (tx) => seats.availabilityBySection(tx, scheduleId)],
      ['hold', (tx) => hold(tx, sample!.seatIds.slice(0, 4))],
      [
        'best available',
        (tx) =>
          seats.holdBestAvailable(tx, {
            userId,
            scheduleId,
            quantity: 2,
            ttlSeconds: 300,
            maxSeatsPerUser: 8,
          }),
      ],
      ['sweeper batch', (tx) => expireLapsedBatch(tx, 1000)],
      ['schedule report', (tx) => scheduleReport(tx, scheduleId)],
      ['order view', (tx) => findOrderView(tx, placed.id)],
    ];
    await sql`load 'auto_explain'`;
    await sql`
      select set_config('auto_explain.log_min_duration', '0', false),
             set_config('auto_explain.log_analyze', 'on', false),
             set_config('auto_explain.log_nested_statements', 'on', false),
             set_config('auto_explain.log_format', 'json', false),
             set_config('auto_explain.log_level', 'notice', false)`;
    const explained: ExplainedQuery[] = [];
    for (const [name, run] of cases) {
      notices.length = 0;
      await rolledBack(sql, run);
      for (const notice of notices) {
        const parsed = parsePlanNotice(notice);
        // leave out transaction control and the foreign-key checks of the writes
        if (!parsed || /^\s*(begin|rollback|commit)|\bFOR KEY SHARE OF\b/i.test(parsed.query)) continue;
        explained.push({
          name,
          query: parsed.query,
          seqScans: seqScansOf(parsed.plan),
          rowsRead: rowsReadBy(parsed.plan),
          ms: parsed.ms,
          plan: parsed.plan,
        });
      }
    }
    await sql`select set_config('auto_explain.log_min_duration', '-1', false)`;
    await sql`delete from order_items where order_id = ${placed.id}`;
    await sql`update schedule_seats set status = 'available', hold_expires_at = null, order_id = null where order_id = ${placed.id}`;
    await sql`delete from orders where id = ${placed.id}`;
    await sql`delete from users where id = ${userId}`;
    return explained;
  } finally {
    await sql.end();
  }
}

/** `npm run explain`: builds a 50,000-seat schedule on the local database and prints the plans. */
async function main() {
  const { startEmbeddedPostgres, ensureDatabase } = await import('../local/embedded-postgres');
  const { migrate } = await import('../db/migrate');
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { seedLargeSchedule } = await import('../bench/data');
  let url = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const pg = await startEmbeddedPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'explain-')),
      persistent: false,
      ephemeral: true,
    });
    url = await ensureDatabase(pg.url, 'explain');
    stop = pg.stop;
  }
  const sql = createSql({ url, max: 4 });
  await migrate(sql);
  const { scheduleId } = await seedLargeSchedule(sql, { seats: 50_000, schedules: 4 });
  await sql.end();
  for (const q of await explainHotQueries(url, scheduleId)) {
    console.log(
      `\n== ${q.name}: ${q.ms.toFixed(1)} ms, sequential scans: ${q.seqScans.join(', ') || 'none'}`,
    );
    console.log(q.query.trim().replace(/\s+/g, ' ').slice(0, 160));
    console.log(
      JSON.stringify(q.plan, ['Node Type', 'Relation Name', 'Index Name', 'Plans', 'Actual Rows'], 1),
    );
  }
  await stop();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
