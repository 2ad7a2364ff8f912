import type { Db, Tx } from './client';

/**
 * Seat maps, availability and holds: the `schedule_seats` aggregate.
 *
 * A seat is free when it is `available` or when its hold has lapsed — expiry is exact, whether
 * or not the sweeper has run yet.
 *
 * Lock order, everywhere in the code base: schedule_seats (by id) → orders → payments. Taking locks
 * in one global order is what keeps concurrent holds, payments, cancellations and sweeps free of
 * deadlocks.
 */
export const isFree = (db: Db) =>
  db`(ss.status = 'available' or (ss.status in ('held', 'pending_payment') and ss.hold_expires_at <= now()))`;

/**
 * The public seat map as JSON text built by PostgreSQL: 50,000 seats are serialised once, by the
 * database, instead of parsed into objects and stringified again.
 */
export async function seatMapJson(db: Db, scheduleId: number): Promise<string> {
  const [row] = await db<{ seats: string }[]>`
    select coalesce(json_agg(json_build_object(
             'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label, 'number', seat.number,
             'seatType', seat.seat_type, 'price', ss.price::text,
             'status', case when ${isFree(db)} then 'available' else 'unavailable' end)
           order by seat.section, seat.row_label, seat.number), '[]')::text as seats
    from schedule_seats ss join seats seat on seat.id = ss.seat_id
    where ss.schedule_id = ${scheduleId}
  `;
  return row!.seats;
}

/** The admin seat map: real statuses (a lapsed hold shows as available) and the holding order. */
export async function adminSeatMapJson(db: Db, scheduleId: number): Promise<string> {
  const [row] = await db<{ seats: string }[]>`
    select coalesce(json_agg(json_build_object(
             'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label, 'number', seat.number,
             'seatType', seat.seat_type, 'price', ss.price::text,
             'status', case when ss.status <> 'available' and ${isFree(db)} then 'available' else ss.status end,
             'holdExpiresAt', case when ${isFree(db)} then null else ss.hold_expires_at end,
             'orderId', case when ${isFree(db)} then null else ss.order_id end)
           order by seat.section, seat.row_label, seat.number), '[]')::text as seats
    from schedule_seats ss join seats seat on seat.id = ss.seat_id
    where ss.schedule_id = ${scheduleId}
  `;
  return row!.seats;
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
           (count(*) filter (where ${isFree(db)}))::int as available,
           (min(ss.price) filter (where ${isFree(db)}))::text as "minPrice"
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
  /** The order whose lapsed hold this seat still carries (to be expired by whoever takes it). */
  lapsedOrderId: number | null;
}

/**
 * Locks the requested seats of a schedule in id order (deterministic, so concurrent multi-seat
 * orders never deadlock) and says which are free.
 */
export async function lockSeats(tx: Tx, scheduleId: number, seatIds: number[]): Promise<LockedSeat[]> {
  return tx<LockedSeat[]>`
    select ss.id, ss.seat_id as "seatId", ${isFree(tx)} as free,
           case when ss.status <> 'available' and ${isFree(tx)} then ss.order_id end as "lapsedOrderId"
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
    select ss.id, ss.order_id as "orderId", ${isFree(tx)} as free
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
  order: import('./orders').OrderView | null;
  expiredOrderIds: number[];
}

/**
 * The whole hold in one statement — one round trip while the seat locks are held, which is what
 * decides throughput when a thousand fans want the same seats:
 *
 * 1. lock the requested seats in id order (concurrent multi-seat orders cannot deadlock) and see
 *    which are free — a lapsed hold is free;
 * 2. count the user's live seats in the schedule (the caller took the per-user lock in an earlier
 *    statement, so this snapshot already sees the user's other orders);
 * 3. only if every seat is in the schedule and free and the user stays within `maxSeatsPerUser`:
 *    expire the orders whose lapsed holds are taken, create the order, hold the seats, create the
 *    items — and return the order as the API shows it.
 *
 * When a check fails nothing is written and the result says why.
 */
export interface HoldInput {
  userId: number;
  scheduleId: number;
  seatIds: number[];
  ttlSeconds: number;
  maxSeatsPerUser: number;
  /** The caller checked the schedule's single-seat rule; otherwise such a schedule refuses here. */
  singleSeatRuleChecked: boolean;
}

type HoldRow = Omit<HoldResult, 'order'> & { order: HoldResult['order'] };

export async function holdSeats(tx: Db, input: HoldInput): Promise<HoldResult> {
  const [row] = await holdSeatsStatement(tx, input);
  return toHoldResult(row!);
}

/** The statement alone, for callers that pipeline it (see `pipelinedTx`). */
export function holdSeatsStatement(tx: Db, input: HoldInput) {
  const n = input.seatIds.length;
  return tx<HoldRow[]>`
    with locked as materialized (
      select ss.id, ss.seat_id, ss.price, ${isFree(tx)} as free,
             case when ss.status <> 'available' and ${isFree(tx)} then ss.order_id end as lapsed_order_id
      from schedule_seats ss
      where ss.schedule_id = ${input.scheduleId} and ss.seat_id = any(${input.seatIds}::bigint[])
      order by ss.id
      for update
    ), owned as (
      select count(*)::int as n
      from orders o join order_items oi on oi.order_id = o.id
      where o.user_id = ${input.userId} and o.schedule_id = ${input.scheduleId} and oi.status in ('held', 'booked')
        and (o.status = 'paid' or (o.status in ('created', 'awaiting_payment') and o.hold_expires_at > now()))
    ), schedule as (
      select status = 'sales_open' and start_at > now() as on_sale, single_seat_rule from schedules where id = ${input.scheduleId}
    ), verdict as (
      select count(*) = ${n} and bool_and(free) and (select n from owned) + ${n} <= ${input.maxSeatsPerUser}
             and coalesce((select on_sale and (${input.singleSeatRuleChecked} or not single_seat_rule) from schedule), false) as ok
      from locked
    ), expired as (
      update orders set status = 'cancelled', cancel_reason = 'expired', hold_expires_at = null, total_amount = 0, updated_at = now()
      where id in (select lapsed_order_id from locked) and (select ok from verdict)
        and status in ('created', 'awaiting_payment') and hold_expires_at <= now()
      returning id
    ), expired_events as (
      insert into outbox (detail_type, detail)
      select 'order.expired', jsonb_build_object('orderId', id, 'reason', 'seat taken after the hold lapsed') from expired
    ), expired_items as (
      update order_items set status = 'cancelled', updated_at = now()
      where order_id in (select id from expired) and status = 'held'
      returning 1
    ), new_order as (
      insert into orders (user_id, schedule_id, total_amount, hold_expires_at)
      select ${input.userId}, ${input.scheduleId}, sum(price), now() + make_interval(secs => ${input.ttlSeconds})
      from locked
      -- referencing expired_items makes the old items cancelled before new ones are inserted
      having (select ok from verdict) and (select count(*) from expired_items) >= 0
      returning id, user_id, schedule_id, status, total_amount, hold_expires_at, created_at
    ), held as (
      update schedule_seats ss
      set status = 'held', hold_expires_at = o.hold_expires_at, order_id = o.id, version = ss.version + 1
      from new_order o
      where ss.id in (select id from locked)
      returning ss.id, ss.seat_id, ss.price, o.id as order_id
    ), items as (
      insert into order_items (order_id, schedule_seat_id, price)
      select order_id, id, price from held order by id
      returning id, schedule_seat_id, price, status
    )
    select
      (select json_build_object('onSale', on_sale, 'singleSeatRule', single_seat_rule) from schedule) as schedule,
      coalesce((select array_agg(seat_id order by seat_id) from locked), '{}') as "foundSeatIds",
      coalesce((select array_agg(seat_id order by seat_id) from locked where not free), '{}') as "takenSeatIds",
      (select n from owned) as owned,
      coalesce((select array_agg(id) from expired), '{}') as "expiredOrderIds",
      (select json_build_object(
         'id', o.id, 'userId', o.user_id, 'scheduleId', o.schedule_id, 'status', o.status,
         'totalAmount', o.total_amount::text, 'holdExpiresAt', o.hold_expires_at, 'createdAt', o.created_at,
         'items', (select json_agg(json_build_object(
                     'id', i.id, 'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label,
                     'number', seat.number, 'price', i.price::text, 'status', i.status) order by i.id)
                   from items i join held h on h.id = i.schedule_seat_id join seats seat on seat.id = h.seat_id),
         'payments', '[]'::json)
       from new_order o) as "order"
  `;
}

export function toHoldResult(row: HoldRow): HoldResult {
  const order = row.order;
  if (order) {
    // json timestamps come back as text; the API speaks Date → ISO-8601 UTC like everywhere else
    order.holdExpiresAt = order.holdExpiresAt && new Date(order.holdExpiresAt);
    order.createdAt = new Date(order.createdAt);
  }
  return row;
}

/** Puts seats back on sale. Only seats that still belong to `orderId` are touched. */
export async function releaseSeats(tx: Tx, orderId: number, scheduleSeatIds: number[]): Promise<number> {
  const result = await tx`
    update schedule_seats
    set status = 'available', hold_expires_at = null, order_id = null, version = version + 1
    where id = any(${scheduleSeatIds}::bigint[]) and order_id = ${orderId}
  `;
  return result.count;
}

export async function setSeatsOfOrder(
  tx: Tx,
  orderId: number,
  status: 'pending_payment' | 'booked',
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

export interface BlockFilter {
  section?: string;
  seatType?: string;
  maxPrice?: number;
  /** Only this row (a pick that holds the row's lock looks again with fresh data). */
  row?: { section: string; rowLabel: string };
}

export interface CandidateBlock {
  section: string;
  rowLabel: string;
  seatIds: number[];
  /** Taking this block would leave exactly one empty seat beside it. */
  strands: boolean;
  score: number;
}

/**
 * Blocks of `quantity` adjacent free seats in one row, best first: blocks that strand no single
 * seat before those that do, then by the seats' rank (rows nearer the stage, seats nearer the
 * centre). Free runs are found with gaps-and-islands: consecutive numbers share
 * `number - row_number()`.
 */
export async function findCandidateBlocks(
  db: Db,
  scheduleId: number,
  quantity: number,
  filter: BlockFilter,
  limit: number,
): Promise<CandidateBlock[]> {
  const matches = db`
    ss.schedule_id = ${scheduleId} and ${isFree(db)}
    ${filter.section ? db`and seat.section = ${filter.section}` : db``}
    ${filter.seatType ? db`and seat.seat_type = ${filter.seatType}` : db``}
    ${filter.maxPrice !== undefined ? db`and ss.price <= ${filter.maxPrice}` : db``}
    ${filter.row ? db`and seat.section = ${filter.row.section} and seat.row_label = ${filter.row.rowLabel}` : db``}
  `;
  return db<CandidateBlock[]>`
    with best_rows as (
      -- only the best rows that could hold the block at all: the window functions below then
      -- look at a few hundred seats instead of the whole venue
      select seat.section, seat.row_label
      from schedule_seats ss join seats seat on seat.id = ss.seat_id
      where ${matches}
      group by seat.section, seat.row_label
      having count(*) >= ${quantity}
      order by min(seat.rank), seat.section, seat.row_label
      limit ${Math.max(8, Math.ceil(limit / 2))}
    ), free as (
      select seat.id as seat_id, seat.section, seat.row_label, seat.number, seat.rank,
             seat.number - row_number() over (partition by seat.section, seat.row_label order by seat.number) as grp
      from schedule_seats ss join seats seat on seat.id = ss.seat_id
      join best_rows b on b.section = seat.section and b.row_label = seat.row_label
      where ${matches}
    ), runs as (
      select section, row_label, grp, min(number) as lo, max(number) as hi
      from free group by section, row_label, grp
      having count(*) >= ${quantity}
    ), blocks as (
      select r.section, r.row_label, start, start + ${quantity} - 1 as stop,
             (start - r.lo = 1 or r.hi - (start + ${quantity} - 1) = 1) as strands
      from runs r cross join lateral generate_series(r.lo, r.hi - ${quantity} + 1) as start
    )
    select b.section, b.row_label as "rowLabel", b.strands,
           array_agg(f.seat_id order by f.number) as "seatIds", sum(f.rank)::int as score
    from blocks b
    join free f on f.section = b.section and f.row_label = b.row_label and f.number between b.start and b.stop
    group by b.section, b.row_label, b.start, b.strands
    order by b.strands, score, b.section, b.row_label, b.start
    limit ${limit}
  `;
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
             seat.id = any(${seatIds}::bigint[]) as picked, ${isFree(tx)} as free
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

/**
 * Claims a row of a schedule for one best-available pick at a time, without waiting: two picks
 * in one row, each deciding from the same snapshot, could together strand a seat between them.
 * Held until the transaction ends.
 */
export async function tryLockRow(
  tx: Tx,
  scheduleId: number,
  section: string,
  rowLabel: string,
): Promise<boolean> {
  const [row] = await tx<{ locked: boolean }[]>`
    select pg_try_advisory_xact_lock(hashtextextended('row:' || ${scheduleId}::text || ':' || ${section} || ':' || ${rowLabel}, 0)) as locked
  `;
  return row!.locked;
}
