import { layoutOrder } from './catalog';
import type { Db, Tx } from './client';
import { fromOrderJson, type OrderView } from './orders';
import type { SeatStatus } from './vocabulary';

/**
 * Seat maps, availability and holds: the `schedule_seats` aggregate.
 *
 * A seat is free when `seat_is_free(ss)` says so (db/migrations/0015_waitlist_before_public_sale.sql):
 * when it is `available` and not kept for the wait-list, or its hold has lapsed while no one waits
 * in the schedule's wait-list — expiry is exact, whether or not the sweeper has run yet. The
 * function is inlined by the planner, so queries keep their index plans.
 *
 * Lock order, everywhere in the code base: schedule_seats (by id) → orders → payments. Taking locks
 * in one global order is what keeps concurrent holds, payments, cancellations and sweeps free of
 * deadlocks.
 */

export interface SeatMapPage {
  /** JSON text of the page's seats, built by PostgreSQL. */
  seats: string;
  /** The page's last seat, when seats are left after it. */
  moreAfter: number | null;
}

/**
 * A page of a seat map in layout order, as JSON text built by PostgreSQL (50,000 seats are
 * serialised once, by the database, instead of parsed into objects and stringified again): at most
 * `limit` seats after `afterSeatId`, ending earlier if its JSON would pass `maxBytes` (long
 * multi-byte names), so that no page can outgrow a response. `admin`: the real statuses (a lapsed
 * hold shows as available), the holding order and the hold's deadline.
 */
export async function seatMapPage(
  db: Db,
  scheduleId: number,
  page: { afterSeatId: number; limit: number; maxBytes: number; admin: boolean },
): Promise<SeatMapPage> {
  // row_to_json keeps the JSON compact ({"seatId":1,...}); json_build_object would pad every key
  // with spaces — 25 % more bytes on a 50,000-seat map
  const fields = page.admin
    ? db`case when ss.status <> 'available' and seat_is_free(ss) then 'available' else ss.status end as status,
         case when seat_is_free(ss) then null else ss.hold_expires_at end as "holdExpiresAt",
         case when seat_is_free(ss) then null else ss.order_id end as "orderId"`
    : db`case when seat_is_free(ss) then 'available' else 'unavailable' end as status`;
  const [row] = await db<SeatMapPage[]>`
    with page as (
      select ss.seat_id,
             row_to_json(s)::text as seat
      from schedule_seats ss
      join seats seat on seat.id = ss.seat_id
      cross join lateral (
        select seat.id as "seatId", seat.section, seat.row_label as "rowLabel", seat.number,
               seat.seat_type as "seatType", ss.price::text as price, ${fields}
      ) as s
      where ss.schedule_id = ${scheduleId} and ss.seat_id > ${page.afterSeatId}
      order by ${layoutOrder(db, 'ss.seat_id')}
      limit ${page.limit + 1}
    ), sized as (
      select seat_id, seat,
             row_number() over w <= ${page.limit}
               and sum(octet_length(seat) + 1) over w <= ${page.maxBytes} as fits
      from page
      window w as (order by seat_id)
    )
    select coalesce('[' || string_agg(seat, ',' order by seat_id) filter (where fits) || ']', '[]') as seats,
           case when bool_and(fits) then null else max(seat_id) filter (where fits) end as "moreAfter"
    from sized
  `;
  return row!;
}

/**
 * Every seat of a public schedule in layout order, '1' free and '0' not, one character each (a
 * lapsed hold is free as of this statement: time passing changes the answer without any write),
 * and the schedule's venue; undefined when the schedule is not public.
 */
export async function seatStatusBits(
  db: Db,
  scheduleId: number,
): Promise<{ venueId: number; bits: string } | undefined> {
  const [row] = await db<{ venueId: number; bits: string }[]>`
    select s.venue_id as "venueId",
           coalesce((
             select string_agg(case when seat_is_free(ss) then '1' else '0' end, ''
                               order by ${layoutOrder(db, 'ss.seat_id')})
             from schedule_seats ss where ss.schedule_id = s.id
           ), '') as bits
    from schedules s join concerts c on c.id = s.concert_id and c.is_active
    where s.id = ${scheduleId}
  `;
  return row;
}

export interface SectionAvailability {
  section: string;
  seatType: string;
  total: number;
  available: number;
  minPrice: string | null;
}

export async function availabilityBySection(db: Db, scheduleId: number): Promise<SectionAvailability[]> {
  return db<SectionAvailability[]>`
    select seat.section, seat.seat_type as "seatType", count(*)::int as total,
           (count(*) filter (where seat_is_free(ss)))::int as available,
           (min(ss.price) filter (where seat_is_free(ss)))::text as "minPrice"
    from schedule_seats ss join seats seat on seat.id = ss.seat_id
    where ss.schedule_id = ${scheduleId}
    group by seat.section, seat.seat_type
    order by seat.section, seat.seat_type
  `;
}

export interface LockedSeat {
  id: number;
  seatId: number;
  free: boolean;
}

/**
 * Locks the requested seats of a schedule in id order (deterministic, so concurrent multi-seat
 * orders never deadlock) and says which are free. The hold itself does this inside `hold_seats`;
 * this is for checks that must see the seats locked first (the single-seat rule).
 */
export async function lockSeats(tx: Tx, scheduleId: number, seatIds: number[]): Promise<LockedSeat[]> {
  return tx<LockedSeat[]>`
    select ss.id, ss.seat_id as "seatId", seat_is_free(ss) as free
    from schedule_seats ss
    where ss.schedule_id = ${scheduleId} and ss.seat_id = any(${seatIds}::bigint[])
    order by ss.id
    for update
  `;
}

/** Locks the seats of one order (again in id order): before any change to the order row. */
export async function lockSeatsOfOrder(
  tx: Tx,
  orderId: number,
): Promise<{ id: number; orderId: number | null; free: boolean }[]> {
  return tx`
    select ss.id, ss.order_id as "orderId", seat_is_free(ss) as free
    from schedule_seats ss
    where ss.id in (select schedule_seat_id from order_items where order_id = ${orderId})
    order by ss.id
    for update
  `;
}

export interface HoldResult {
  /** null: no such schedule. */
  schedule: { onSale: boolean; singleSeatRule: boolean } | null;
  /** Requested seats that belong to the schedule (the rest are not part of it). */
  foundSeatIds: number[];
  /** Requested seats someone else has. */
  takenSeatIds: number[];
  /** Seats the user already holds or owns in the schedule, before this order. */
  owned: number;
  /** The new order: only when every check passed. */
  order: OrderView | null;
  expiredOrderIds: number[];
}

export interface HoldInput {
  userId: number;
  scheduleId: number;
  seatIds: number[];
  ttlSeconds: number;
  maxSeatsPerUser: number;
  /** The caller checked the schedule's single-seat rule; otherwise such a schedule refuses here. */
  singleSeatRuleChecked: boolean;
}

/**
 * The whole hold — per-user lock, seat locks in id order, checks, expiry of lapsed holders, order
 * and items — in one call of `hold_seats` (db/migrations/0005_one_home_per_rule.sql): one round
 * trip, and a plan cached per connection. It writes nothing when a check fails and says why.
 */
export async function holdSeats(db: Db, input: HoldInput): Promise<HoldResult> {
  const [row] = await db<{ hold: HoldResult }[]>`
    select hold_seats(${input.userId}, ${input.scheduleId}, ${input.seatIds}::bigint[], ${input.ttlSeconds},
                      ${input.maxSeatsPerUser}, ${input.singleSeatRuleChecked}) as hold
  `;
  const hold = row!.hold;
  if (hold.order) fromOrderJson(hold.order);
  return hold;
}

/**
 * Puts seats back on sale. Only seats that still belong to `orderId` are touched. While the
 * schedule's wait-list has someone waiting, the seats are kept for it (`for_waitlist`: no fan's hold
 * counts them free) and the schedule is noted as due, in the same statement (`note_seats_freed`,
 * 0013 and 0015): they are offered right after the commit, or by the sweeper, and what no entry
 * fits goes on sale then.
 */
export async function releaseSeats(tx: Tx, orderId: number, scheduleSeatIds: number[]): Promise<number> {
  const [row] = await tx<{ released: number }[]>`
    with released as (
      update schedule_seats
      set status = 'available', for_waitlist = waitlist_has_waiting(schedule_id), hold_expires_at = null,
          order_id = null, version = version + 1
      where id = any(${scheduleSeatIds}::bigint[]) and order_id = ${orderId}
      returning schedule_id
    ), due as (
      select note_seats_freed(array(select distinct schedule_id from released))
    )
    select (select count(*) from released)::int as released, (select count(*) from due) as noted
  `;
  return row!.released;
}

/** The held seats of an order keep the order's new deadline (a hold extension). */
export async function setHeldSeatsDeadline(tx: Tx, orderId: number, expiresAt: Date): Promise<void> {
  await tx`
    update schedule_seats set hold_expires_at = ${expiresAt}, version = version + 1
    where order_id = ${orderId} and status = 'held'
  `;
}

export async function setSeatsOfOrder(
  tx: Tx,
  orderId: number,
  status: Extract<SeatStatus, 'pending_payment' | 'booked'>,
  expiresAt: Date | null,
): Promise<number> {
  const result = await tx`
    update schedule_seats
    set status = ${status}, hold_expires_at = ${expiresAt}, version = version + 1
    where order_id = ${orderId}
      and id in (select schedule_seat_id from order_items where order_id = ${orderId} and status <> 'cancelled')
  `;
  return result.count;
}

/** Books the seats of these items for the order (the caller has them locked and checked free). */
export async function bookSeatsOfItems(tx: Tx, orderId: number, itemIds: number[]): Promise<number> {
  const result = await tx`
    update schedule_seats
    set status = 'booked', hold_expires_at = null, order_id = ${orderId}, version = version + 1
    where id in (select schedule_seat_id from order_items where id = any(${itemIds}::bigint[]))
  `;
  return result.count;
}

/**
 * Free seats that taking `seatIds` would leave alone: both neighbours taken (or a row end) and
 * one of them among the picked seats. Seats are numbered 1..n without gaps in each row.
 */
export async function singleSeatsLeftBy(tx: Tx, scheduleId: number, seatIds: number[]): Promise<number[]> {
  const rows = await tx<{ seatId: number }[]>`
    with touched as (
      select distinct section, row_label from seats where id = any(${seatIds}::bigint[])
    ), row_seats as (
      select seat.id, seat.section, seat.row_label, seat.number,
             seat.id = any(${seatIds}::bigint[]) as picked, seat_is_free(ss) as free
      from schedule_seats ss
      join seats seat on seat.id = ss.seat_id
      join touched t on t.section = seat.section and t.row_label = seat.row_label
      where ss.schedule_id = ${scheduleId}
    ), after as (
      select id, free and not picked as free_after,
             coalesce(lag(free and not picked) over w, false) as left_free,
             coalesce(lead(free and not picked) over w, false) as right_free,
             coalesce(lag(picked) over w, false) or coalesce(lead(picked) over w, false) as beside_pick
      from row_seats
      window w as (partition by section, row_label order by number)
    )
    select id as "seatId" from after
    where free_after and not left_free and not right_free and beside_pick
    order by id
  `;
  return rows.map((r) => r.seatId);
}

export interface BestAvailableInput {
  userId: number;
  scheduleId: number;
  quantity: number;
  section?: string;
  seatType?: string;
  maxPrice?: number;
  ttlSeconds: number;
  maxSeatsPerUser: number;
}

/**
 * "The best `quantity` adjacent seats", searched and held by `hold_best_available`
 * (db/migrations/0016_best_available_turnstile.sql) in one round trip. The answer is `hold_seats`': the
 * order when one was held, otherwise what explains why not (no such schedule, not on sale, the
 * per-user limit; none of these: no block is left).
 */
export async function holdBestAvailable(db: Db, input: BestAvailableInput): Promise<HoldResult> {
  const [row] = await db<{ hold: HoldResult }[]>`
    select hold_best_available(${input.userId}, ${input.scheduleId}, ${input.quantity}, ${input.section ?? null},
                               ${input.seatType ?? null}, ${input.maxPrice ?? null}::numeric, ${input.ttlSeconds},
                               ${input.maxSeatsPerUser}) as hold
  `;
  const hold = row!.hold;
  if (hold.order) fromOrderJson(hold.order);
  return hold;
}
