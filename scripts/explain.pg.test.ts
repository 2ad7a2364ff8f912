import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLargeSchedule } from '../bench/data';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { explainHotQueries } from './explain';

let db: TestDatabase;
let scheduleId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  // several performances of a 50,000-seat venue, so one schedule is a slice of schedule_seats
  ({ scheduleId } = await seedLargeSchedule(db.sql, { seats: 50_000, schedules: 4 }));
}, 120_000);
afterAll(() => db.drop());

describe('hot query plans on a 50,000-seat schedule', () => {
  it('never scan schedule_seats sequentially', async () => {
    const explained = await explainHotQueries(db.url, scheduleId);

    expect(explained.map((q) => q.name)).toEqual(
      expect.arrayContaining([
        'seat map',
        'availability',
        'hold',
        'best available',
        'sweeper batch',
        'schedule report',
        'order view',
      ]),
    );
    const offenders = explained.filter((q) => q.seqScans.includes('schedule_seats')).map((q) => q.name);
    expect(offenders).toEqual([]);
  });
});
