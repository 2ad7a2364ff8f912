import type { Sql } from '../db/client';
import { createConcert, createSchedule, createVenue } from '../domain/catalog';
import { SIZE } from './harness';

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

/**
 * A database that has sold before: a performance of the bench venue sold out to past fans, 2 seats
 * an order, paid by card, and fresh statistics. Every benchmark meets a running service's database,
 * not an empty one: a connection plans a function's statements once and keeps the plans for its
 * life, and plans made while `orders` and `order_items` were nearly empty read them whole — on
 * every hold, ever more rows as the rush adds its own (26 sequential reads of order_items per
 * best-available pick, 36 million rows in one run). A service that has sold before plans index
 * reads. The history is written directly, in a few statements (10,000 holds through hold_seats
 * took 30 s, for that very reason; 2 s this way). Its fans and performance are its own: no
 * benchmark meets them.
 */
export async function seedHistory(sql: Sql) {
  const { scheduleId } = await newSchedule(sql, SIZE.rushSeats);
  const fans = await users(sql, SIZE.rushSeats / 2, 'history');
  await sql.begin(async (tx) => {
    await tx`
      insert into orders (user_id, schedule_id, total_amount, status)
      select f, ${scheduleId}, 0, 'paid' from unnest(${fans}::bigint[]) as f`;
    // seats 2k-1 and 2k in seat order sit side by side (rows have an even number of seats)
    await tx`
      with o as materialized (
        select id, row_number() over (order by id) as k from orders where schedule_id = ${scheduleId}
      ), s as materialized (
        select id, (row_number() over (order by seat_id) + 1) / 2 as k
        from schedule_seats where schedule_id = ${scheduleId}
      ), sold as (
        update schedule_seats ss set status = 'booked', order_id = o.id, version = ss.version + 1
        from s join o using (k) where ss.id = s.id
        returning ss.id, ss.order_id, ss.price)
      insert into order_items (order_id, schedule_seat_id, price, status)
      select order_id, id, price, 'booked' from sold`;
    await tx`
      with totals as (
        select order_id, sum(price) as total from order_items oi join orders o on o.id = oi.order_id
        where o.schedule_id = ${scheduleId} group by order_id
      ), paid as (
        insert into payments (order_id, provider, amount, status, approved_at)
        select order_id, 'card', total, 'success', now() from totals
        returning order_id, id, amount)
      update orders o set total_amount = paid.amount, paid_by = paid.id from paid where o.id = paid.order_id`;
  });
  await sql`analyze`;
}
