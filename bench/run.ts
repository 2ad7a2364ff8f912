import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Sql } from '../db/client';
import { apiRush } from './api';
import { bestAvailableRush } from './best-available';
import { bundles } from './bundles';
import { seedHistory } from './data';
import { benchDir, log, QUICK, SIZE, withDatabase } from './harness';
import { onSale } from './on-sale';
import { type RushResult, rushStrategies } from './rush';
import { seatMap } from './seat-map';
import { sweeperBench } from './sweeper';
import { webApp } from './web';

/**
 * `npm run bench`: the on-sale rush and the hot paths, measured side by side on one embedded
 * PostgreSQL 17. Prints a table and writes bench/results.json. `BENCH_QUICK=1` shrinks every
 * benchmark to a smoke run; `npm run bench -- rush api` runs only the benchmarks named and
 * replaces only their sections of results.json.
 */

/** results.json's sections, each filled by one benchmark. */
interface Sections {
  rush: Record<string, RushResult>;
  bestAvailable: Awaited<ReturnType<typeof bestAvailableRush>>;
  api: Awaited<ReturnType<typeof apiRush>>;
  seatMap: Awaited<ReturnType<typeof seatMap>>['seatMap'];
  seatStatus: Awaited<ReturnType<typeof seatMap>>['seatStatus'];
  sweeper: Awaited<ReturnType<typeof sweeperBench>>;
  bundles: Awaited<ReturnType<typeof bundles>>['bundles'];
  emptyImportMs: number;
  onSale: Awaited<ReturnType<typeof onSale>>;
  web: Awaited<ReturnType<typeof webApp>>;
}

/** The benchmarks by the name `npm run bench -- <name>` takes, in the order of a full run. */
const benchmarks: Record<string, (url: string, admin: Sql) => Promise<Partial<Sections>>> = {
  rush: async (url, admin) => ({ rush: await rushStrategies(url, admin) }),
  'best-available': async (url, admin) => ({ bestAvailable: await bestAvailableRush(url, admin) }),
  api: async (url, admin) => ({ api: await apiRush(url, admin) }),
  'seat-map': (url, admin) => seatMap(url, admin),
  sweeper: async (url, admin) => ({ sweeper: await sweeperBench(url, admin) }),
  bundles: (url) => bundles(url),
  onSale: async (url, admin) => ({ onSale: await onSale(url, admin) }),
  web: async (url, admin) => ({ web: await webApp(url, admin) }),
};

/** Runs the benchmarks named (all by default); a quick run writes nothing to results.json. */
export async function runBench(names: string[] = Object.keys(benchmarks)) {
  const unknown = names.filter((name) => !(name in benchmarks));
  if (unknown.length > 0) {
    throw new Error(
      `unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benchmarks).join(', ')}`,
    );
  }
  const full = Object.keys(benchmarks).every((name) => names.includes(name));
  return withDatabase(async (url, admin) => {
    log('a sold-out past performance, so plans meet a database that has sold before');
    await seedHistory(admin);
    let sections: Partial<Sections> = {};
    for (const [name, bench] of Object.entries(benchmarks)) {
      if (names.includes(name)) sections = { ...sections, ...(await bench(url, admin)) };
    }
    const results = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL 17 (embedded, fsync off)`,
      quick: QUICK,
      sizes: SIZE,
      ...sections,
    };
    const file = join(benchDir, 'results.json');
    if (full && !QUICK) await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    // a partial run replaces only its own sections (`onSale` carries its own date)
    else if (!QUICK) {
      const kept = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, `${JSON.stringify({ ...kept, ...sections }, null, 2)}\n`);
    }
    printTables(results);
    return results;
  });
}

const rushRow = (strategy: string, x: RushResult): Record<string, string | number> => ({
  strategy,
  'holds/s': x.holdsPerSec,
  'attempts/s': x.attemptsPerSec,
  'p50 ms': x.p50Ms,
  'p99 ms': x.p99Ms,
  errors: x.errors,
  'double bookings': x.doubleBookings,
});

function printTables(r: Partial<Sections>) {
  const rushRows = Object.entries(r.rush ?? {}).map(([name, x]) => rushRow(name, x));
  if (r.bestAvailable) {
    rushRows.push({
      ...rushRow('best available ×2', r.bestAvailable),
      stranded: r.bestAvailable.strandedSeats,
    });
  }
  if (rushRows.length > 0) console.table(rushRows);
  if (r.api) console.table([{ ...r.api }]);
  if (r.seatMap) console.table([{ ...r.seatMap }]);
  if (r.seatStatus) console.table([{ ...r.seatStatus }]);
  if (r.sweeper) console.table([{ ...r.sweeper }]);
  if (r.bundles) console.table(r.bundles);
  if (r.emptyImportMs !== undefined) console.log(`empty module import: ${r.emptyImportMs} ms`);
  if (r.web) console.table([{ ...r.web }]);
  if (r.onSale) {
    const { room, noRoom, ...setup } = r.onSale;
    console.table([{ ...setup }]);
    console.table({ room, noRoom });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2);
  runBench(names.length > 0 ? names : undefined).then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
