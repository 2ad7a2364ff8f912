import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { backgroundEntries } from '../functions/background';
import { deployedRoutes } from '../functions/routes';
import { BUNDLE, entryOf } from '../lib/ticketing-function';
import { benchDir, log, median, round } from './harness';

/** Every function the stack deploys, from the same two tables: its name and its handler. */
const deployedFunctions = [...deployedRoutes, ...backgroundEntries].map(([name, f]) => ({
  name,
  handler: f.handler,
}));

/** Median time of 3 `import`s of `file`, each in a fresh Node process. */
function timeImport(file: string, url: string) {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  const runs = Array.from({ length: 3 }, () =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, DATABASE_URL: url },
      }).toString(),
    ),
  );
  return round(median(runs));
}

/**
 * `npm run bench -- bundles`: each function bundled with the CDK's esbuild settings, its size and
 * its import time, against the import time of an empty module.
 */
export async function bundles(url: string) {
  log('bundles');
  const out = join(benchDir, '.tmp', 'bundles');
  await rm(out, { recursive: true, force: true });
  const results = [];
  for (const fn of deployedFunctions) {
    const outfile = join(out, fn.name, 'index.mjs');
    await build({
      entryPoints: [entryOf(fn.handler)],
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
    results.push({ name: fn.name, bytes: (await stat(outfile)).size, importMs: timeImport(outfile, url) });
  }
  const empty = join(out, 'empty.mjs');
  await mkdir(dirname(empty), { recursive: true });
  await writeFile(empty, 'export const handler = async () => ({});\n');
  return { bundles: results, emptyImportMs: timeImport(empty, url) };
}
