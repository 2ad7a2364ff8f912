import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createSql } from './client';
import { isDataException, isTransient } from './errors';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ max: 2 });
});
afterAll(() => db.drop());

/** The error a statement fails with. */
async function failureOf(statement: Promise<unknown>): Promise<unknown> {
  try {
    await statement;
  } catch (error) {
    return error;
  }
  throw new Error('the statement succeeded');
}

describe('database failures, as postgres.js reports them', () => {
  it('a value PostgreSQL cannot store is a data exception, not transient', async () => {
    const error = await failureOf(db.sql`select ${'a\u0000b'}::text`);

    expect([isDataException(error), isTransient(error)]).toEqual([true, false]);
  });

  it('a statement timeout is transient', async () => {
    const error = await failureOf(
      db.sql.begin(async (tx) => {
        await tx`set local statement_timeout = 10`;
        await tx`select pg_sleep(1)`;
      }),
    );

    expect([isDataException(error), isTransient(error)]).toEqual([false, true]);
  });

  it('a client whose connections are gone is transient', async () => {
    const ended = createSql({ url: db.url, max: 1 });
    await ended.end();
    const error = await failureOf(ended`select 1`);

    expect(isTransient(error)).toBe(true);
  });

  it('a bug in a statement is neither', async () => {
    const error = await failureOf(db.sql`select no_such_column from users`);

    expect([isDataException(error), isTransient(error)]).toEqual([false, false]);
  });
});
