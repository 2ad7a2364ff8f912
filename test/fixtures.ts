import type { Db } from '../db/client';
import { createConcert, createSchedule, createVenue } from '../domain/catalog';

export interface Show {
  concertId: number;
  venueId: number;
  scheduleId: number;
  /** Seat ids by row label, in seat-number order. */
  rows: Record<string, number[]>;
  seatIds: number[];
}

/** A concert, a venue of `rows` × `seatsPerRow` seats in one section, and a schedule on sale. */
export async function createShow(
  db: Db,
  options: {
    rows?: number;
    seatsPerRow?: number;
    price?: number;
    startsInHours?: number;
    genre?: string;
    artist?: string;
    noSingleSeatGaps?: boolean;
  } = {},
): Promise<Show> {
  const rowCount = options.rows ?? 5;
  const perRow = options.seatsPerRow ?? 10;
  const concert = await createConcert(db, {
    title: 'Fixture Show',
    artist: options.artist ?? 'Fixture Band',
    genre: options.genre ?? 'rock',
    runtimeMinutes: 120,
  });
  const venue = await createVenue(db, {
    name: 'Fixture Hall',
    sections: [
      {
        section: 'A',
        rows: Array.from({ length: rowCount }, (_, i) => ({
          rowLabel: `R${String(i + 1).padStart(3, '0')}`,
          seats: perRow,
          seatType: 'std',
          basePrice: options.price ?? 100,
        })),
      },
    ],
  });
  const start = new Date(Date.now() + (options.startsInHours ?? 48) * 3600_000);
  const schedule = await createSchedule(db, {
    concertId: concert.id,
    venueId: venue.id,
    startAt: start.toISOString(),
    endAt: new Date(start.getTime() + 7200_000).toISOString(),
    noSingleSeatGaps: options.noSingleSeatGaps,
  });
  const seats = await db<{ id: number; rowLabel: string }[]>`
    select id, row_label as "rowLabel" from seats where venue_id = ${venue.id} order by row_label, number
  `;
  const rows: Record<string, number[]> = {};
  for (const s of seats) {
    rows[s.rowLabel] ??= [];
    rows[s.rowLabel]!.push(s.id);
  }
  return {
    concertId: concert.id,
    venueId: venue.id,
    scheduleId: schedule.id,
    rows,
    seatIds: seats.map((s) => s.id),
  };
}

/**
 * Invariants that must hold after anything: checked by the booking, payment and race tests.
 * Each query returns the rows that violate it.
 */
export async function invariantViolations(db: Db): Promise<Record<string, unknown[]>> {
  const [
    seatInTwoOrders,
    bookedWithoutPaidItem,
    paymentWithoutTicket,
    totalMismatch,
    cancelledHoldingSeat,
    seatStateMismatch,
    openPaymentOfEndedOrder,
  ] = await Promise.all([
    db`
      select oi.schedule_seat_id, count(*) from order_items oi
      join orders o on o.id = oi.order_id
      where oi.status in ('held', 'booked') and o.status in ('created', 'awaiting_payment', 'paid')
      group by 1 having count(*) > 1`,
    db`
      select ss.id from schedule_seats ss
      where ss.status = 'booked' and (
        select count(*) from order_items oi join orders o on o.id = oi.order_id
        where oi.schedule_seat_id = ss.id and oi.status = 'booked' and o.status = 'paid' and o.id = ss.order_id) <> 1`,
    db`
      select p.id from payments p join orders o on o.id = p.order_id
      where p.status = 'success' and o.status <> 'paid'
        and p.amount > coalesce((select sum(r.amount) from payments r where r.refund_of = p.id), 0)`,
    db`
      select o.id from orders o
      where o.total_amount <> coalesce((select sum(price) from order_items where order_id = o.id and status <> 'cancelled'), 0)`,
    db`
      select oi.id from order_items oi join orders o on o.id = oi.order_id
      where o.status in ('cancelled', 'refunded') and oi.status <> 'cancelled'`,
    db`
      select oi.id from order_items oi join orders o on o.id = oi.order_id
      join schedule_seats ss on ss.id = oi.schedule_seat_id
      where oi.status = 'held' and o.status in ('created', 'awaiting_payment')
        and (ss.order_id is distinct from o.id or ss.status not in ('held', 'pending_payment'))`,
    // an order that expired, was cancelled or was paid can no longer be paid by this attempt
    db`
      select p.id from payments p join orders o on o.id = p.order_id
      where p.status = 'initiated' and o.status not in ('created', 'awaiting_payment')`,
  ]);
  const all = {
    seatInTwoOrders,
    bookedWithoutPaidItem,
    paymentWithoutTicket,
    totalMismatch,
    cancelledHoldingSeat,
    seatStateMismatch,
    openPaymentOfEndedOrder,
  };
  return Object.fromEntries(Object.entries(all).filter(([, rows]) => rows.length > 0));
}
