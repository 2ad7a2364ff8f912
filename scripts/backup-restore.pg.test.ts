import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createShow } from '../test/fixtures';
import { backupAndRestore, clientMajor } from './backup-restore';

let db: TestDatabase;
let serverMajor = 0;
beforeAll(async () => {
  db = await createTestDatabase();
  await createShow(db.sql, { rows: 3, seatsPerRow: 10 });
  serverMajor = Number((await db.sql<{ v: string }[]>`show server_version_num`)[0]!.v.slice(0, 2));
});
afterAll(() => db.drop());

// pg_dump refuses servers newer than itself; Debian 12 ships pg_dump 15 and the embedded server
// is 17, so this runs where a pg_dump ≥ 17 is installed (PG_BIN) and says so where it is not.
const major = clientMajor();
describe('backup / restore runbook', () => {
  it.skipIf(!major || major < 17)(
    `pg_dump → pg_restore keeps every row (pg_dump ${major ?? 'missing'})`,
    async () => {
      expect(major).toBeGreaterThanOrEqual(serverMajor);
      const { counts } = await backupAndRestore(db.url, `${db.name}_restored`);
      expect(counts.seats![0]).toBe(30);
      for (const [table, [a, b]] of Object.entries(counts)) expect([table, b]).toEqual([table, a]);
    },
  );
});
