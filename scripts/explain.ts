import postgres from 'postgres';
import { createSql, type Sql, type Tx } from '../db/client';
import { expireLapsedBatch } from '../db/orders';
import { scheduleReport } from '../db/reports';
import * as seats from '../db/seats';

/**
 * EXPLAIN (ANALYZE) of the hot queries — seat map, availability, hold, best-available search,
 * sweeper batch, schedule report — exactly as the data functions send them, and the plan nodes
 * that read `schedule_seats` sequentially (there must be none). `npm run explain` prints the plans
 * on a fresh 50,000-seat venue; scripts/explain.pg.test.ts fails on a sequential scan.
 */
export interface ExplainedQuery {
  name: string;
  seqScans: string[];
  ms: number;
  plan: unknown;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function seqScansOf(node: PlanNode, found: string[] = []): string[] {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) found.push(node['Relation Name']);
  for (const child of node.Plans ?? []) seqScansOf(child, found);
  return found;
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

export async function explainHotQueries(url: string, scheduleId: number): Promise<ExplainedQuery[]> {
  // a client that records every statement it sends, with its parameters
  const sent: { text: string; params: unknown[] }[] = [];
  const recorder = postgres(url, {
    max: 1,
    onnotice: () => {},
    debug: (_c, text, params) => sent.push({ text, params: params as unknown[] }),
  }) as unknown as Sql;
  const sql = createSql({ url, max: 1 });
  try {
    const [sample] = await sql<{ seatIds: number[] }[]>`
      select array_agg(seat_id order by seat_id) as "seatIds"
      from (select seat_id from schedule_seats where schedule_id = ${scheduleId} order by seat_id limit 4) s`;
    const userId = (
      await sql<
        { id: number }[]
      >`insert into users (sub) values ('explain-' || gen_random_uuid()) returning id`
    )[0]!.id;
    const cases: [string, (tx: Tx) => Promise<unknown>][] = [
      ['seat map', (tx) => seats.seatMapJson(tx, scheduleId)],
      ['availability', (tx) => seats.availabilityBySection(tx, scheduleId)],
      [
        'hold',
        (tx) =>
          seats.holdSeats(tx, {
            userId,
            scheduleId,
            seatIds: sample!.seatIds,
            ttlSeconds: 300,
            maxSeatsPerUser: 8,
            singleSeatRuleChecked: true,
          }),
      ],
      ['best available: candidate blocks', (tx) => seats.findCandidateBlocks(tx, scheduleId, 2, {}, 24)],
      ['sweeper batch', (tx) => expireLapsedBatch(tx, 1000)],
      ['schedule report', (tx) => scheduleReport(tx, scheduleId)],
    ];
    const explained: ExplainedQuery[] = [];
    for (const [name, run] of cases) {
      sent.length = 0;
      await rolledBack(recorder, run);
      // leave out transaction control and postgres.js's own catalogue look-ups
      const statements = sent.filter(
        (s) => !/^\s*(begin|rollback|commit)/i.test(s.text) && !/\bpg_catalog\.|\bpg_type\b/.test(s.text),
      );
      for (const statement of statements) {
        let plan: { Plan: PlanNode; 'Execution Time': number } | undefined;
        await rolledBack(sql, async (tx) => {
          const [row] = await tx.unsafe(
            `explain (analyze, format json) ${statement.text}`,
            statement.params as never[],
          );
          plan = (row as unknown as { 'QUERY PLAN': [typeof plan] })['QUERY PLAN'][0];
        });
        explained.push({
          name,
          seqScans: seqScansOf(plan!.Plan),
          ms: plan!['Execution Time'],
          plan: plan!.Plan,
        });
      }
    }
    await sql`delete from users where id = ${userId}`;
    return explained;
  } finally {
    await recorder.end();
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
