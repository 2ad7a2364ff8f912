import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { ensureUser, forgetUsers } from './users';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ max: 10 });
});
afterAll(() => db.drop());

describe('ensureUser', () => {
  it('gives concurrent first requests of one new user the same row (found by the API bench)', async () => {
    forgetUsers();

    const ids = await Promise.all(
      Array.from({ length: 20 }, () => ensureUser(db.sql, { sub: 'first-sight', email: 'a@b.c' })),
    );

    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toBeGreaterThan(0);
    const [row] =
      await db.sql`select count(*)::int as n, max(email) as email from users where sub = 'first-sight'`;
    expect(row).toEqual({ n: 1, email: 'a@b.c' });
  });
});
