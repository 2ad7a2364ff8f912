import type { Db } from '../db/client';
import { createConcert, createSchedule, createVenue } from '../domain/catalog';
import { fromCents, toCents } from '../domain/money';
import { refundKeyIn } from '../domain/refunds';
import type { SimulatorState } from '../local/pg-simulator/state';

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
    bookedWithoutMoney,
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
    // a booked seat is paid for: a successful payment of its order still holds, after the refunds
    // asked for or given back (a failed refund gave nothing back), at least the booked items' price.
    // Except where the gateway gave part of a payment back on its own (a console refund of "some"
    // of the money names no seat): the tickets stay and the payment is flagged `gateway_cancel` for
    // an operator in the reconciliation report — a decision, see domain/payments.ts
    db`
      select ss.id from schedule_seats ss join orders o on o.id = ss.order_id
      where ss.status = 'booked'
        and not exists (select 1 from payments f where f.order_id = o.id and f.flag like '%gateway_cancel%')
        and not exists (
        select 1 from payments p
        where p.order_id = o.id and p.status = 'success'
          and p.amount - coalesce((select sum(r.amount) from payments r
                                   where r.refund_of = p.id and r.refund_status in ('requested', 'sent')), 0)
              >= (select sum(oi.price) from order_items oi where oi.order_id = o.id and oi.status = 'booked'))`,
  ]);
  const all = {
    seatInTwoOrders,
    bookedWithoutPaidItem,
    paymentWithoutTicket,
    totalMismatch,
    cancelledHoldingSeat,
    seatStateMismatch,
    openPaymentOfEndedOrder,
    bookedWithoutMoney,
  };
  return Object.fromEntries(Object.entries(all).filter(([, rows]) => rows.length > 0));
}

/**
 * What must hold of refunds once everything has settled (in between, refunds are legitimately
 * `requested`): every refund ended `sent` or `failed`; the gateway executed each refund at most once;
 * and what the gateway gave back of each payment is exactly what we record as sent — no refund
 * executed twice or silently, none recorded as sent that the gateway never executed.
 */
export async function refundViolations(db: Db, gateway: SimulatorState): Promise<Record<string, unknown[]>> {
  const unsettledRefunds = await db`
    select id, refund_of as "refundOf", amount::text, refund_attempts as attempts from payments
    where refund_status = 'requested'`;

  const executions = new Map<string, number>();
  const givenBack = new Map<string, number>();
  for (const payment of gateway.payments.values()) {
    // the built-in gateway keeps cents, Toss and PortOne whole won
    const toCentsAtGateway = payment.provider === 'builtin' ? 1 : 100;
    for (const cancel of payment.cancels) {
      // our refund's key: Toss and the built-in gateway keep it as the Idempotency-Key, PortOne (no
      // such header) in the cancel's reason; a cancel made at the gateway has none
      const ours = refundKeyIn(cancel.key) ?? refundKeyIn(cancel.reason);
      const key = ours ?? `${payment.paymentRef} ${cancel.key}`;
      executions.set(key, (executions.get(key) ?? 0) + 1);
      givenBack.set(
        payment.paymentRef,
        (givenBack.get(payment.paymentRef) ?? 0) + cancel.amount * toCentsAtGateway,
      );
    }
  }
  const executedTwice = [...executions].filter(([, n]) => n > 1).map(([key, n]) => ({ key, n }));

  const sentByUs = await db<{ paymentRef: string; provider: string; sent: string; refunds: unknown[] }[]>`
    select p.public_id as "paymentRef", p.provider,
           coalesce((select sum(r.amount) from payments r where r.refund_of = p.id and r.refund_status = 'sent'), 0)::text as sent,
           coalesce((select json_agg(json_build_object('id', r.id, 'amount', r.amount::text, 'status', r.refund_status,
                                                       'error', r.refund_error) order by r.id)
                     from payments r where r.refund_of = p.id), '[]') as refunds
    from payments p where p.status <> 'refund'`;
  // with the refunds on both sides, so that a disagreement can be read without digging
  const atGateway = (paymentRef: string) =>
    gateway.payments
      .get(paymentRef)
      ?.cancels.map((c) => ({ amount: c.amount, key: c.key, reason: c.reason })) ?? [];
  const known = new Set(sentByUs.map((p) => p.paymentRef));
  const gatewayAndUsDisagree = [
    ...sentByUs.filter((p) => toCents(p.sent) !== (givenBack.get(p.paymentRef) ?? 0)),
    ...[...givenBack.keys()]
      .filter((ref) => !known.has(ref))
      .map((paymentRef) => ({ paymentRef, sent: '0' })),
  ].map((p) => ({
    ...p,
    givenBack: fromCents(givenBack.get(p.paymentRef) ?? 0),
    atGateway: atGateway(p.paymentRef),
  }));

  const all = { unsettledRefunds, executedTwice, gatewayAndUsDisagree };
  return Object.fromEntries(Object.entries(all).filter(([, rows]) => rows.length > 0));
}

/**
 * The wait-list's invariants (API.md "Second chances"), on a quiet database after a sweep. Every
 * freed seat is kept for the wait-list until its schedule is served (and the schedule due until
 * then), and after that on public sale only if no waiting entry fits it, offered to exactly one
 * entry, or held or booked: an offer is an order (a seat is in one live order at most, above), made
 * for exactly one entry of its own fan and schedule, and an entry shows `offered` only while its
 * offer is unpaid and open. No waiting entry — of an on-sale schedule whose wait-list is on, of a
 * fan under the seat limit — fits in a run of adjacent seats on public sale (filters of section,
 * seat type and price respected).
 */
export async function waitlistViolations(
  db: Db,
  maxSeatsPerUser: number,
): Promise<Record<string, unknown[]>> {
  const [offerWithoutEntry, entryOfAnotherOrder, offeredButOver, unservedWhileOnSale, keptWithoutDue] =
    await Promise.all([
      db`
      select o.id from orders o
      where o.offer and (select count(*) from waitlist_entries e where e.order_id = o.id) <> 1`,
      db`
      select e.id from waitlist_entries e join orders o on o.id = e.order_id
      where not o.offer or o.user_id is distinct from e.user_id or o.schedule_id <> e.schedule_id`,
      db`
      select e.id, o.status from waitlist_entries e join orders o on o.id = e.order_id
      where e.status = 'offered' and o.status not in ('created', 'awaiting_payment')`,
      db`
      with on_sale as (
        select ss.schedule_id, seat.section, seat.row_label, seat.seat_type, ss.price, seat.number,
               seat.number - row_number() over (
                 partition by ss.schedule_id, seat.section, seat.row_label order by seat.number) as grp
        from schedule_seats ss join seats seat on seat.id = ss.seat_id
        where ss.status = 'available' and not ss.for_waitlist
      )
      select e.id, e.quantity from waitlist_entries e
      join schedules s on s.id = e.schedule_id join concerts c on c.id = s.concert_id
      join waitlists w on w.schedule_id = s.id and w.enabled
      where e.status = 'waiting' and schedule_on_sale(s, c)
        and (select count(*) from orders o join order_items oi on oi.order_id = o.id
             where o.user_id = e.user_id and o.schedule_id = e.schedule_id
               and oi.status in ('held', 'booked') and order_is_live(o)) + e.quantity <= ${maxSeatsPerUser}
        and exists (
          select 1 from on_sale f
          where f.schedule_id = e.schedule_id
            and (e.section is null or f.section = e.section)
            and (e.seat_type is null or f.seat_type = e.seat_type)
            and (e.max_price is null or f.price <= e.max_price)
          group by f.section, f.row_label, f.grp
          having count(*) >= e.quantity)`,
      // a seat kept for the wait-list (freed while someone waited) is on nobody's sale until its
      // schedule is served: that schedule is due at every instant, or the seat is lost to everyone;
      // and once served (after the sweep) none is kept, but for a schedule that may sell again
      db`
      select ss.id from schedule_seats ss
      join schedules s on s.id = ss.schedule_id join concerts c on c.id = s.concert_id
      where ss.for_waitlist and ss.status = 'available'
        and (schedule_on_sale(s, c) or not exists (select 1 from waitlist_due d where d.schedule_id = s.id))`,
    ]);
  const all = { offerWithoutEntry, entryOfAnotherOrder, offeredButOver, unservedWhileOnSale, keptWithoutDue };
  return Object.fromEntries(Object.entries(all).filter(([, rows]) => rows.length > 0));
}
