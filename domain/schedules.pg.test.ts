import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, untilSomeoneWaitsForALock } from '../test/db';
import { createShow } from '../test/fixtures';
import { changeScheduleStatus } from './schedules';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
});
afterAll(() => db.drop());

describe('changeScheduleStatus', () => {
  it('never reopens a schedule that a concurrent request cancelled', async () => {
    const show = await createShow(db.sql, { rows: 1, seatsPerRow: 2 });
    await changeScheduleStatus(db.sql, show.scheduleId, 'closed');

    // a cancel that has written its status but not yet committed, on its own connection
    const cancelling = await db.sql.reserve();
    await cancelling`begin`;
    await cancelling`update schedules set status = 'cancelled', updated_at = now() where id = ${show.scheduleId}`;
    const reopen = changeScheduleStatus(db.sql, show.scheduleId, 'sales_open').then(
      () => 'reopened',
      (e: { code?: string }) => e.code,
    );
    await untilSomeoneWaitsForALock(db.sql);
    await cancelling`commit`;
    cancelling.release();

    expect(await reopen).toBe('INVALID_STATUS_TRANSITION');
    const [row] = await db.sql`select status from schedules where id = ${show.scheduleId}`;
    expect(row!.status).toBe('cancelled');
  });
});
