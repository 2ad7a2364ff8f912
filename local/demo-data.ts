import type { Sql } from '../db/client';
import { createConcert, createSchedule, createVenue } from '../domain/catalog';

/** First start only: a few concerts, a 3,000-seat hall and performances on sale. */
export async function loadDemoData(sql: Sql): Promise<string> {
  const [existing] = await sql<{ n: number }[]>`select count(*)::int as n from concerts`;
  if (existing!.n > 0) return `${existing!.n} concerts already in the database`;

  const rowsOf = (prefix: string, count: number, seats: number, seatType: string, basePrice: number) =>
    Array.from({ length: count }, (_, i) => ({ rowLabel: `${prefix}${i + 1}`, seats, seatType, basePrice }));
  const venue = await createVenue(sql, {
    name: 'Olympic Hall',
    address: '424 Olympic-ro, Songpa-gu, Seoul',
    sections: [
      {
        section: 'Floor',
        rows: [
          ...rowsOf('', 5, 40, 'vip', 198000),
          ...rowsOf('', 10, 40, 'r', 154000).map((r, i) => ({ ...r, rowLabel: String(i + 6) })),
        ],
      },
      { section: 'West', rows: rowsOf('W', 20, 30, 's', 132000) },
      { section: 'East', rows: rowsOf('E', 20, 30, 's', 132000) },
      { section: 'Balcony', rows: rowsOf('B', 15, 40, 'a', 99000) },
    ],
  });

  const concerts = await Promise.all([
    createConcert(sql, {
      title: 'Spring Rock Fest',
      artist: 'The Seoul Riders',
      genre: 'rock',
      description: 'Three hours of loud guitars.',
      runtimeMinutes: 180,
    }),
    createConcert(sql, {
      title: 'Jazz Night',
      artist: 'Han River Quartet',
      genre: 'jazz',
      description: 'Standards and originals.',
      runtimeMinutes: 120,
    }),
    createConcert(sql, {
      title: 'Winter Ballads',
      artist: 'Lee Ji-eun',
      genre: 'ballad',
      description: 'An acoustic evening.',
      runtimeMinutes: 150,
    }),
  ]);
  const day = 24 * 60 * 60 * 1000;
  let schedules = 0;
  for (const [i, concert] of concerts.entries()) {
    for (const offset of [7, 8]) {
      const start = new Date(
        Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 10) +
          (offset + i * 3) * day,
      );
      await createSchedule(sql, {
        concertId: concert.id,
        venueId: venue.id,
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + (concert.runtimeMinutes ?? 120) * 60_000).toISOString(),
        prices: i === 1 ? { vip: 120000 } : undefined,
      });
      schedules++;
    }
  }
  return `loaded ${concerts.length} concerts, venue ${venue.id} with ${venue.seatCount} seats, ${schedules} schedules on sale`;
}
