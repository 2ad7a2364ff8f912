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

let benchVenue: { venueId: number; seats: number } | undefined;
/** A fresh performance of a venue of `seats` seats (created once), so every run starts equal. */
export async function newSchedule(sql: Sql, seats: number) {
  if (!benchVenue || benchVenue.seats !== seats) {
    const created = await seedLargeSchedule(sql, { seats, schedules: 1 });
    benchVenue = { venueId: created.venueId, seats };
    return { scheduleId: created.scheduleId };
  }
  const [concert] = await sql<{ id: number }[]>`select id from concerts order by id limit 1`;
  const start = new Date(Date.now() + 30 * 86_400_000 + Math.random() * 1e9);
  const schedule = await createSchedule(sql, {
    concertId: concert!.id,
    venueId: benchVenue.venueId,
    startAt: start.toISOString(),
    endAt: new Date(start.getTime() + 7_200_000).toISOString(),
  });
  return { scheduleId: schedule.id };
}

/** `count` new users, `prefix-1` to `prefix-count`. */
export async function users(sql: Sql, count: number, prefix: string): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    insert into users (sub) select ${prefix} || '-' || g from generate_series(1, ${count}) as g returning id`;
  return rows.map((r) => r.id);
}

/** The first `size` seats of the schedule, in seat order: the block every fan wants. */
export async function hotBlockOf(sql: Sql, scheduleId: number, size: number): Promise<number[]> {
  const rows = await sql<{ seatId: number }[]>`
    select seat_id as "seatId" from schedule_seats where schedule_id = ${scheduleId} order by seat_id limit ${size}`;
  return rows.map((r) => r.seatId);
}
