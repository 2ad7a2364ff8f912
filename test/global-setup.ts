import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createSql } from '../db/client';
import { migrate } from '../db/migrate';
import { ensureDatabase, type RunningPostgres, startEmbeddedPostgres } from '../local/embedded-postgres';

export const TEMPLATE_DB = 'ticketing_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

/**
 * One PostgreSQL per test run (embedded unless DATABASE_URL is set) with a migrated template
 * database; each test file clones the template into a database of its own (test/db.ts).
 */
export default async function setup(project: TestProject) {
  try {
    return await prepare(project);
  } catch (error) {
    // vitest 4 reports a failed global setup but can still exit 0: make CI fail for real
    console.error('Test database setup failed:', error);
    process.exit(1);
  }
}

async function prepare(project: TestProject) {
  let running: RunningPostgres | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-test-pg-'));
    running = await startEmbeddedPostgres({ dataDir, persistent: false, ephemeral: true });
    adminUrl = running.url;
  }
  const templateUrl = await ensureDatabase(adminUrl, TEMPLATE_DB);
  const sql = createSql({ url: templateUrl });
  await migrate(sql);
  await sql.end();
  project.provide('adminDatabaseUrl', adminUrl);
  return async () => {
    await running?.stop();
  };
}
