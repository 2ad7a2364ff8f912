import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

/**
 * Builds the web app into web/dist/: the fan app at `/` (index.html) and the admin console at
 * `/console/` (console/index.html), their scripts and styles under `/assets/` with content hashes
 * (cache them forever; the HTML is never cached). `npm start`, the browser tests and the CDK stack
 * call it; `npx tsx scripts/build-web.ts` runs it alone.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_DIST = join(root, 'web', 'dist');

export interface WebApp {
  /** Its entry module under web/. */
  entry: string;
  /** Where its index.html goes, under web/dist/. */
  page: string;
  title: string;
}

export const WEB_APPS: WebApp[] = [
  { entry: 'fan/main.tsx', page: 'index.html', title: 'Concert tickets' },
  { entry: 'console/main.tsx', page: 'console/index.html', title: 'Ticketing console' },
];

export async function buildWeb(options: { outdir?: string; minify?: boolean } = {}): Promise<Metafile> {
  const outdir = options.outdir ?? WEB_DIST;
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: WEB_APPS.map((app) => join(root, 'web', app.entry)),
    outdir: join(outdir, 'assets'),
    entryNames: '[dir]-[hash]',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  for (const app of WEB_APPS) {
    const source = relative(root, join(root, 'web', app.entry));
    const [script, output] = outputs.find(([, o]) => o.entryPoint === source) ?? [];
    if (!script || !output) throw new Error(`esbuild wrote nothing for ${source}`);
    const asset = (file: string) => `/assets/${basename(file)}`;
    const html = page(app.title, asset(script), output.cssBundle ? asset(output.cssBundle) : undefined);
    await mkdir(dirname(join(outdir, app.page)), { recursive: true });
    await writeFile(join(outdir, app.page), html);
  }
  return result.metafile;
}

function page(title: string, script: string, style: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  ${style ? `<link rel="stylesheet" href="${style}">` : ''}
  <script type="module" src="${script}"></script>
</head>
<body>
  <div id="app"></div>
  <noscript>This app needs JavaScript.</noscript>
</body>
</html>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const metafile = await buildWeb();
  const bytes = Object.values(metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`web/dist built in ${Date.now() - started} ms (${Math.round(bytes / 1024)} KB before gzip)`);
}
