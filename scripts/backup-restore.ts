import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

/**
 * The backup / restore runbook of the README, as code: pg_dump in custom format, pg_restore into
 * a new database, then the row counts of every table compared. Needs pg_dump / pg_restore of the
 * server's major version or newer (PG_BIN=/path/to/bin to choose them).
 *
 *   npx tsx scripts/backup-restore.ts postgres://user:pass@host:5432/ticketing
 */
const TABLES = [
  'users',
  'concerts',
  'venues',
  'seats',
  'schedules',
  'schedule_seats',
  'orders',
  'order_items',
  'payments',
  'webhook_events',
  'outbox',
  'schema_migrations',
];

export function clientMajor(bin = process.env.PG_BIN): number | undefined {
  try {
    const out = execFileSync(bin ? join(bin, 'pg_dump') : 'pg_dump', ['--version']).toString();
    return Number(/(\d+)(\.\d+)?/.exec(out)?.[1]);
  } catch {
    return undefined;
  }
}

export async function backupAndRestore(
  sourceUrl: string,
  restoredName: string,
): Promise<{ file: string; counts: Record<string, [number, number]> }> {
  const bin = (name: string) => (process.env.PG_BIN ? join(process.env.PG_BIN, name) : name);
  const file = join(await mkdtemp(join(tmpdir(), 'backup-')), 'ticketing.dump');
  // 1. dump: custom format (compressed, restorable selectively and in parallel)
  execFileSync(bin('pg_dump'), [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${file}`,
    `--dbname=${sourceUrl}`,
  ]);
  // 2. restore into a new, empty database
  const admin = postgres(sourceUrl, { max: 1, onnotice: () => {} });
  await admin`drop database if exists ${admin(restoredName)} with (force)`;
  await admin`create database ${admin(restoredName)}`;
  await admin.end();
  const target = new URL(sourceUrl);
  target.pathname = `/${restoredName}`;
  execFileSync(bin('pg_restore'), [
    '--no-owner',
    '--no-privileges',
    '--exit-on-error',
    `--dbname=${target}`,
    file,
  ]);
  // 3. verify: every table has the same number of rows
  const counts: Record<string, [number, number]> = {};
  const [source, restored] = [postgres(sourceUrl, { max: 1 }), postgres(target.toString(), { max: 1 })];
  for (const table of TABLES) {
    const [[a], [b]] = await Promise.all([
      source`select count(*)::int as n from ${source(table)}`,
      restored`select count(*)::int as n from ${restored(table)}`,
    ]);
    counts[table] = [a!.n, b!.n];
  }
  await Promise.all([source.end(), restored.end()]);
  return { file, counts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.argv[2] ?? process.env.DATABASE_URL;
  if (!url) {
    console.error('usage: backup-restore <database url>');
    process.exit(2);
  }
  backupAndRestore(url, `${new URL(url).pathname.slice(1)}_restored`).then(
    ({ file, counts }) => {
      console.table(counts);
      const bad = Object.entries(counts).filter(([, [a, b]]) => a !== b);
      console.log(
        bad.length
          ? `MISMATCH in ${bad.map(([t]) => t).join(', ')}`
          : `restored from ${file}: every table matches`,
      );
      process.exit(bad.length ? 1 : 0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
