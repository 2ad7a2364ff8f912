import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createShow } from '../test/fixtures';
import { createSql } from './client';
import { defaultMigrationsDir, migrate } from './migrate';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe('migrate', () => {
  it('applies every migration to an empty database and re-running is a no-op', async () => {
    // Prepare: an empty schema instead of the migrated template
    await db.sql`drop schema public cascade`;
    await db.sql`create schema public`;

    // Act
    const first = await migrate(db.sql);
    const second = await migrate(db.sql);

    // Assess
    expect(first.applied).toEqual([
      '0001_schema.sql',
      '0002_database_settings.sql',
      '0003_idempotency_webhooks_outbox.sql',
      '0004_hold_seats_function.sql',
      '0005_one_home_per_rule.sql',
      '0006_gateways_and_refunds.sql',
      '0007_schedule_cancellation.sql',
      '0008_paid_by_and_gateway_checks.sql',
      '0009_waiting_room.sql',
      '0010_hold_extension.sql',
      '0011_open_queue_known_schedules.sql',
      '0012_best_available.sql',
      '0013_waitlist.sql',
      '0014_best_available_lanes.sql',
      '0015_waitlist_before_public_sale.sql',
      '0016_best_available_turnstile.sql',
      '0017_refunds_made_at_gateway.sql',
      '0018_best_available_plans.sql',
    ]);
    expect(second).toEqual({ applied: [], skipped: first.applied.length });
    const tables =
      await db.sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        'concerts',
        'venues',
        'seats',
        'schedules',
        'schedule_seats',
        'orders',
        'order_items',
        'payments',
        'users',
        'waiting_rooms',
        'queue_entries',
        'venue_rows',
      ]),
    );
  });

  it('0017 marks the refunds recorded so far that money the gateway gave back on its own', async () => {
    // Prepare: rows as the code before 0017 left them, then 0017 run again over them
    const show = await createShow(db.sql, { rows: 1, seatsPerRow: 3 });
    const [order] = await db.sql<{ id: number }[]>`
      insert into orders (schedule_id, total_amount, status) values (${show.scheduleId}, 45000, 'paid') returning id`;
    const [paid] = await db.sql<{ id: number }[]>`
      insert into payments (order_id, provider, amount, status) values (${order!.id}, 'card', 45000, 'success')
      returning id`;
    const refund = async (status: string, attempts: number, error: string | null) => {
      const [row] = await db.sql<{ id: number }[]>`
        insert into payments (order_id, provider, amount, status, refund_of, refund_status, refund_attempts,
                              refund_error, refund_sent_at)
        values (${order!.id}, 'card', 5000, 'refund', ${paid!.id}, ${status}, ${attempts}, ${error},
                ${status === 'sent' ? db.sql`now()` : null})
        returning id`;
      return row!.id;
    };
    const recordedAtGateway = await refund('sent', 0, null);
    const untriedSettled = await refund('sent', 0, 'made at the gateway');
    const failedSettled = await refund('sent', 2, 'rejected NOT_CANCELLABLE; made at the gateway');
    const refusalDecided = await refund('sent', 1, null);
    await db.sql`insert into outbox (detail_type, detail)
      values ('refund.sent', ${db.sql.json({ refundId: refusalDecided, atGateway: true })})`;
    const sentByUs = await refund('sent', 1, null);
    const failed = await refund('failed', 5, 'rejected NOT_CANCELLABLE');
    await db.sql`alter table payments drop column made_at_gateway`;
    await db.sql`delete from schema_migrations where name = '0017_refunds_made_at_gateway.sql'`;

    // Act
    expect((await migrate(db.sql)).applied).toEqual(['0017_refunds_made_at_gateway.sql']);

    // Assess
    const rows = await db.sql<{ id: number; madeAtGateway: boolean }[]>`
      select id, made_at_gateway as "madeAtGateway" from payments where refund_of = ${paid!.id} order by id`;
    expect(rows).toEqual([
      { id: recordedAtGateway, madeAtGateway: true },
      { id: untriedSettled, madeAtGateway: true },
      { id: failedSettled, madeAtGateway: true },
      { id: refusalDecided, madeAtGateway: true },
      { id: sentByUs, madeAtGateway: false },
      { id: failed, madeAtGateway: false },
    ]);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(defaultMigrationsDir, dir, { recursive: true });
    await writeFile(join(dir, '0001_schema.sql'), '-- edited\n', { flag: 'a' });

    await expect(migrate(db.sql, dir)).rejects.toThrow(/0001_schema.sql was edited/);
  });

  it('applies a new file and nothing else, then records it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(defaultMigrationsDir, dir, { recursive: true });
    await writeFile(join(dir, '9999_extra.sql'), 'create table extra (id int);');

    const result = await migrate(db.sql, dir);

    expect(result.applied).toEqual(['9999_extra.sql']);
    const [row] =
      await db.sql`select count(*)::int as n from schema_migrations where name = '9999_extra.sql'`;
    expect(row!.n).toBe(1);
  });

  it('lets two concurrent runners apply each file exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(defaultMigrationsDir, dir, { recursive: true });
    await writeFile(join(dir, '9998_concurrent.sql'), 'create table concurrent_once (id int);');

    const results = await Promise.all([migrate(db.sql, dir), migrate(db.sql, dir)]);

    expect(results.flatMap((r) => r.applied)).toEqual(['9998_concurrent.sql']);
  });

  it('runs without the request time limits the database sets for everyone else', async () => {
    // Prepare: a fresh session of a database with 0002's limits, and a migration that records its own
    await db.sql`alter database ${db.sql(db.name)} set statement_timeout = '15s'`;
    await db.sql`alter database ${db.sql(db.name)} set lock_timeout = '5s'`;
    const fresh = createSql({ url: db.url });
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(defaultMigrationsDir, dir, { recursive: true });
    await writeFile(
      join(dir, '9997_limits.sql'),
      `create table migration_limits as
         select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock;`,
    );

    // Act
    await migrate(fresh, dir);

    // Assess: the session itself has the limits, the migration ran without them
    const [session] = await fresh`select current_setting('statement_timeout') as s`;
    const [limits] = await fresh`select statement, lock from migration_limits`;
    await fresh.end();
    expect(session!.s).toBe('15s');
    expect(limits).toEqual({ statement: '0', lock: '0' });
  });
});
