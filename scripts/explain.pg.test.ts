import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSchedule, seedHistory, seedLargeSchedule } from '../bench/data';
import { createSchedule } from '../domain/catalog';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { type ExplainedQuery, explainHotQueries } from './explain';

/**
 * A hold and a best-available pick (the latter inside the turnstile, while every other pick of the
 * schedule waits) run with plans made once per connection from whatever statistics there are: none
 * of their statements may read more than a few rows' worth of seats (a row here has 100, a venue
 * 20,000 or 50,000), nor more than a fan's orders, whatever those statistics say.
 */
function readsBeyondARow(explained: ExplainedQuery[]) {
  const hotPath = explained.filter((q) => q.name === 'best available' || q.name === 'hold');
  expect(hotPath.filter((q) => q.name === 'best available').length).toBeGreaterThan(3);
  return hotPath
    .filter((q) => q.rowsRead > 1_000 || q.seqScans.some((t) => t === 'seats' || t === 'schedule_seats'))
    .map(
      (q) =>
        `${q.name}: ${q.rowsRead} rows, seq ${q.seqScans.join(',') || '-'}: ${q.query.trim().slice(0, 70)}`,
    );
}

describe('hot query plans on a 50,000-seat schedule', () => {
  let db: TestDatabase;
  let scheduleId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    // a dozen performances of a 50,000-seat venue, so one schedule is a slice of schedule_seats (at
    // 4, a quarter of the table, reading it all is a fair plan for a schedule's availability)
    ({ scheduleId } = await seedLargeSchedule(db.sql, { seats: 50_000, schedules: 12 }));
    // and more put on sale since the statistics were taken, as in any on-sale season
    const [concert] = await db.sql<{ id: number }[]>`select id from concerts limit 1`;
    const [venue] = await db.sql<{ id: number }[]>`
      select venue_id as id from schedules where id = ${scheduleId}`;
    for (let i = 0; i < 4; i++) {
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

  it('a hold and a best-available pick read a row, with statistics taken before the schedule went on sale', async () => {
    expect(readsBeyondARow(await explainHotQueries(db.url, scheduleId))).toEqual([]);
  });
});

describe('a hold and a best-available pick with statistics taken when everything on record had sold', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    // a sold-out performance and its statistics ("available" looks rare), then one on sale
    await seedHistory(db.sql);
  }, 120_000);
  afterAll(() => db.drop());

  it('reads one row all the same', async () => {
    const { scheduleId } = await newSchedule(db.sql, 20_000);
    expect(readsBeyondARow(await explainHotQueries(db.url, scheduleId))).toEqual([]);
  });
});
