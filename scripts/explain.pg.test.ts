import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedLargeSchedule } from '../bench/data';
import { createSchedule } from '../domain/catalog';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { explainHotQueries } from './explain';

let db: TestDatabase;
let scheduleId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  // several performances of a 50,000-seat venue, so one schedule is a slice of schedule_seats
  ({ scheduleId } = await seedLargeSchedule(db.sql, { seats: 50_000, schedules: 4 }));
  // and more put on sale since the statistics were taken, as in any on-sale season: a generic plan
  // made from stale statistics must still read one row's seats, not the venue's
  const [concert] = await db.sql<{ id: number }[]>`select id from concerts limit 1`;
  const [venue] = await db.sql<
    { id: number }[]
  >`select venue_id as id from schedules where id = ${scheduleId}`;
  for (let i = 0; i < 8; i++) {
    const start = new Date(Date.now() + (30 + i) * 86_400_000);
    await createSchedule(db.sql, {
      concertId: concert!.id,
      venueId: venue!.id,
      startAt: start.toISOString(),
      endAt: new Date(start.getTime() + 7_200_000).toISOString(),
    });
  }
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
    // a pick probes row after row while others wait for the turnstile: none of its statements may
    // read a venue's seats whole (a generic plan that did cost 7 ms a row, 35 ms a pick)
    const pick = explained.filter((q) => q.name === 'best available');
    expect(pick.length).toBeGreaterThan(3);
    const wholeVenue = pick.flatMap((q) =>
      q.seqScans.filter((table) => table === 'seats').map(() => q.query.trim().slice(0, 60)),
    );
    expect(wholeVenue).toEqual([]);
  });
});
