import type { Sql } from '../db/client';
import { createConcert, createSchedule, createVenue } from '../domain/catalog';

/**
 * A venue of `seats` seats (100 rows of seats/100 in 10 sections) and `schedules` performances of
 * it on sale, created through the same domain functions the admin API uses. Returns the first.
 */
export async function seedLargeSchedule(
  sql: Sql,
  options: { seats: number; schedules?: number; price?: number },
) {
  const perRow = 100;
  const rowsTotal = Math.ceil(options.seats / perRow);
  const sections = 10;
  const rowsPerSection = Math.ceil(rowsTotal / sections);
  const venue = await createVenue(sql, {
    name: `Bench Arena ${options.seats}`,
    sections: Array.from({ length: sections }, (_, s) => ({
      section: `S${String(s + 1).padStart(2, '0')}`,
      rows: Array.from({ length: rowsPerSection }, (_, r) => ({
        rowLabel: `R${String(r + 1).padStart(3, '0')}`,
        seats: perRow,
        seatType: r < 5 ? 'vip' : 'std',
        basePrice: options.price ?? 100000,
      })),
    })),
  });
  const concert = await createConcert(sql, { title: 'Bench Night', artist: 'Bench Band', genre: 'rock' });
  const ids: number[] = [];
  for (let i = 0; i < (options.schedules ?? 1); i++) {
    const start = new Date(Date.now() + (7 + i) * 86_400_000);
    const schedule = await createSchedule(sql, {
      concertId: concert.id,
      venueId: venue.id,
      startAt: start.toISOString(),
      endAt: new Date(start.getTime() + 7_200_000).toISOString(),
    });
    ids.push(schedule.id);
  }
  await sql`analyze`;
  return { venueId: venue.id, scheduleId: ids[0]!, scheduleIds: ids, seatCount: venue.seatCount };
}
