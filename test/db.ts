import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createSql, type Sql } from '../db/client';
import { withDatabase } from '../local/embedded-postgres';

const TEMPLATE_DB = 'ticketing_template';

export interface TestDatabase {
  sql: Sql;
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the run's template: each test file gets its own. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin`create database ${admin(name)} template ${admin(TEMPLATE_DB)}`;
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const sql = createSql({ url, max: options.max ?? 10, connectTimeoutSeconds: 60 });
  return {
    sql,
    url,
    name,
    async drop() {
      await sql.end({ timeout: 1 });
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a`drop database if exists ${a(name)} with (force)`;
      await a.end();
    },
  };
}

/**
 * Resolves once a backend of this database waits for a lock — `waiters` of them, running a
 * statement containing `statement` if given: the other side of a race is in place.
 */
export async function untilSomeoneWaitsForALock(
  sql: Sql,
  {
    timeoutMs = 10_000,
    waiters = 1,
    statement = '',
  }: { timeoutMs?: number; waiters?: number; statement?: string } = {},
): Promise<void> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query ilike ${`%${statement}%`}`;
    if (row!.n >= waiters) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no backend waited for a lock${statement ? ` in ${statement}` : ''}`);
}
