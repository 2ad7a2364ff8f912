import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './client';

export const defaultMigrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Any constant: it only has to be the same for every runner of this schema. */
const MIGRATION_LOCK = 7_338_001;

export interface MigrationResult {
  applied: string[];
  skipped: number;
}

/**
 * Applies the numbered `.sql` files that have not run yet, in order, in one transaction under an
 * advisory lock (two deploys or two local servers cannot interleave). Each file is recorded with
 * its checksum; an applied file that was edited afterwards stops the run — migrations are
 * forward-only, so a change needs a new file.
 */
export async function migrate(sql: Sql, dir = defaultMigrationsDir): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const migrations = await Promise.all(
    files.map(async (name) => {
      const text = await readFile(join(dir, name), 'utf8');
      return { name, text, checksum: createHash('sha256').update(text).digest('hex') };
    }),
  );

  return sql.begin(async (tx) => {
    // The database-wide limits (0002: 15 s per statement, 5 s per lock wait) are for requests. A
    // migration may rewrite a big table or wait for a deploy running beside it; what bounds it is
    // its Lambda's timeout, which the deploy waits for. Requests that queue behind its locks still
    // give up after their own 5 s.
    await tx`set local statement_timeout = 0`;
    await tx`set local lock_timeout = 0`;
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`
      create table if not exists schema_migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      )
    `;
    const applied = new Map(
      (await tx<{ name: string; checksum: string }[]>`select name, checksum from schema_migrations`).map(
        (row) => [row.name, row.checksum],
      ),
    );
    const done: string[] = [];
    for (const m of migrations) {
      const checksum = applied.get(m.name);
      if (checksum !== undefined) {
        if (checksum !== m.checksum) {
          throw new Error(`Migration ${m.name} was edited after it was applied; add a new migration instead`);
        }
        continue;
      }
      await tx.unsafe(m.text);
      await tx`insert into schema_migrations (name, checksum) values (${m.name}, ${m.checksum})`;
      done.push(m.name);
    }
    return { applied: done, skipped: migrations.length - done.length };
  }) as Promise<MigrationResult>;
}

/**
 * The application's database login (AWS): created or re-passworded by the deploy-time migration
 * function from the secret RDS Proxy also holds, with only the privileges the service needs.
 */
export async function ensureAppRole(sql: Sql, user: string, password: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(user)) throw new Error(`Refusing an unusual role name: ${user}`);
  // ALTER ROLE takes no bind parameters; the literal is quoted by PostgreSQL itself
  const [{ literal }] = (await sql`select quote_literal(${password}) as literal`) as unknown as [
    { literal: string },
  ];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    const [exists] = await tx`select 1 from pg_roles where rolname = ${user}`;
    if (!exists) await tx.unsafe(`create role ${user} login`);
    await tx.unsafe(`alter role ${user} with login password ${literal}`);
    await tx.unsafe(`grant usage on schema public to ${user}`);
    await tx.unsafe(`grant select, insert, update, delete on all tables in schema public to ${user}`);
    await tx.unsafe(`grant usage, select on all sequences in schema public to ${user}`);
  });
}
