import type { Db, Tx } from './client';
import type {
  CancelReason,
  OrderItemStatus,
  OrderStatus,
  PaymentStatus,
  Provider,
  ScheduleStatus,
} from './vocabulary';

/** Orders and their items. */

export interface OrderView {
  id: number;
  userId: number | null;
  scheduleId: number;
  status: OrderStatus;
  totalAmount: string;
  holdExpiresAt: Date | null;
  createdAt: Date;
  /** A wait-list offer. */
  offer: boolean;
  items: {
    id: number;
    seatId: number;
    section: string;
    rowLabel: string;
    number: number;
    price: string;
    status: OrderItemStatus;
  }[];
  payments: {
    id: number;
    provider: Provider;
    amount: string;
    status: PaymentStatus;
    pgTid: string | null;
    approvedAt: string | null;
  }[];
}

/**
 * `order_json` (db/migrations/0005_one_home_per_rule.sql) builds the view; JSON carries its times as
 * text, and the API speaks Date → ISO-8601 UTC like everywhere else.
 */
export function fromOrderJson(view: OrderView): OrderView {
  view.holdExpiresAt = view.holdExpiresAt && new Date(view.holdExpiresAt);
  view.createdAt = new Date(view.createdAt);
  return view;
}

export async function findOrderView(db: Db, orderId: number): Promise<OrderView | undefined> {
  const [row] = await db<
    { view: OrderView }[]
  >`select order_json(o) as view from orders o where o.id = ${orderId}`;
  return row && fromOrderJson(row.view);
}

export async function listOrdersOfUser(
  db: Db,
  userId: number,
  limit: number,
  beforeId?: number,
): Promise<OrderView[]> {
  const rows = await db<{ view: OrderView }[]>`
    select order_json(o) as view from orders o
    where o.user_id = ${userId} ${beforeId ? db`and o.id < ${beforeId}` : db``}
    order by o.id desc
    limit ${limit + 1}
  `;
  return rows.map((r) => fromOrderJson(r.view));
}

export interface LockedOrder {
  id: number;
  userId: number | null;
  scheduleId: number;
  status: OrderStatus;
  cancelReason: CancelReason | null;
  totalAmount: string;
  /** The payment that booked the tickets, once paid. */
  paidBy: number | null;
  lapsed: boolean;
  /** Not settled yet (`order_is_open`): unpaid or paid, neither cancelled nor refunded. */
  open: boolean;
  scheduleStarted: boolean;
  scheduleStatus: ScheduleStatus;
  /** Seats of the schedule may be sold now (`schedule_on_sale`: open, not started, concert active). */
  scheduleOnSale: boolean;
  /** Made by the wait-list (an offer, with its own deadline). */
  offer: boolean;
}

/** Locks the order row. Callers lock the order's seats first (see db/seats.ts). */
export async function lockOrder(tx: Tx, orderId: number): Promise<LockedOrder | undefined> {
  const [row] = await tx<LockedOrder[]>`
    select o.id, o.user_id as "userId", o.schedule_id as "scheduleId", o.status, o.cancel_reason as "cancelReason",
           o.total_amount::text as "totalAmount", o.paid_by as "paidBy", order_hold_lapsed(o) as lapsed,
           order_is_open(o) as open,
           s.start_at <= now() as "scheduleStarted", s.status as "scheduleStatus",
           schedule_on_sale(s, c) as "scheduleOnSale", o.offer
    from orders o join schedules s on s.id = o.schedule_id join concerts c on c.id = s.concert_id
    where o.id = ${orderId}
    for update of o
  `;
  return row;
}

/**
 * The next `limit` open orders of cancelled schedules after `afterId`, by id: a batch of the
 * schedule cancellation job. Each schedule's orders are read through its own index range (the
 * lateral join), so the plan stays a handful of index look-ups however many orders there are.
 */
export async function openOrdersOfCancelledSchedules(
  db: Db,
  afterId: number,
  limit: number,
): Promise<number[]> {
  const rows = await db<{ id: number }[]>`
    select o.id
    from schedules s
    cross join lateral (
      select o.id from orders o
      where o.schedule_id = s.id and order_is_open(o) and o.id > ${afterId}
      order by o.id limit ${limit}
    ) o
    where s.status = 'cancelled'
    order by o.id
    limit ${limit}
  `;
  return rows.map((r) => r.id);
}

export async function orderOwner(db: Db, orderId: number): Promise<{ userId: number | null } | undefined> {
  const [row] = await db<
    { userId: number | null }[]
  >`select user_id as "userId" from orders where id = ${orderId}`;
  return row;
}

export interface ItemRow {
  id: number;
  scheduleSeatId: number;
  price: string;
  status: OrderItemStatus;
}

export async function itemsOfOrder(tx: Tx, orderId: number): Promise<ItemRow[]> {
  return tx<ItemRow[]>`
    select id, schedule_seat_id as "scheduleSeatId", price::text as price, status
    from order_items where order_id = ${orderId} order by id
  `;
}

/** Checks the schedule and takes a per-(user, schedule) transaction lock for the seat limit. */
export async function lockUserInSchedule(
  tx: Tx,
  userId: number,
  scheduleId: number,
): Promise<{ onSale: boolean; singleSeatRule: boolean } | undefined> {
  const [row] = await tx<{ onSale: boolean; singleSeatRule: boolean }[]>`
    select schedule_on_sale(s, c) as "onSale", s.single_seat_rule as "singleSeatRule",
           pg_advisory_xact_lock(hold_lock_key(${userId}, s.id)) is null as locked
    from schedules s join concerts c on c.id = s.concert_id where s.id = ${scheduleId}
  `;
  return row;
}

/**
 * The seats a user holds or owns in a schedule, other than those of `exceptOrderId`: what the
 * per-user limit counts, with the hold's rule of a live order (hold_seats, 0005).
 */
export async function liveSeatsOfUser(
  tx: Tx,
  userId: number,
  scheduleId: number,
  exceptOrderId: number,
): Promise<number> {
  const [row] = await tx<{ n: number }[]>`
    select count(*)::int as n
    from orders o join order_items oi on oi.order_id = o.id
    where o.user_id = ${userId} and o.schedule_id = ${scheduleId} and o.id <> ${exceptOrderId}
      and oi.status in ('held', 'booked') and order_is_live(o)
  `;
  return row!.n;
}

export async function setItemsStatus(
  tx: Tx,
  itemIds: number[],
  status: Extract<OrderItemStatus, 'booked' | 'cancelled'>,
): Promise<void> {
  await tx`update order_items set status = ${status}, updated_at = now() where id = any(${itemIds}::bigint[])`;
}

/**
 * Changes an order's state; a field left out keeps its value. The total is recomputed from the
 * live items: it always equals what is still bought.
 */
export async function setOrderState(
  tx: Tx,
  orderId: number,
  state: {
    status: OrderStatus;
    holdExpiresAt?: Date | null;
    cancelReason?: CancelReason | null;
    paidBy?: number;
  },
): Promise<void> {
  await tx`
    update orders set
      status = ${state.status},
      paid_by = coalesce(${state.paidBy ?? null}::bigint, paid_by),
      hold_expires_at = ${state.holdExpiresAt === undefined ? tx`hold_expires_at` : tx`${state.holdExpiresAt}`},
      cancel_reason = ${state.cancelReason === undefined ? tx`cancel_reason` : tx`${state.cancelReason}`},
      total_amount = coalesce((select sum(price) from order_items where order_id = ${orderId} and status <> 'cancelled'), 0),
      updated_at = now()
    where id = ${orderId}
  `;
}

/**
 * The sweeper's batch: claims lapsed seats with SKIP LOCKED (a fan or another sweeper working on a
 * seat is never waited for), expires their orders (`expire_orders`) and puts the seats back on
 * sale — one statement.
 */
export async function expireLapsedBatch(
  db: Db,
  batchSize: number,
): Promise<{ seats: number; orderIds: number[] }> {
  const [row] = await db<{ seats: number; orderIds: number[] }[]>`
    with lapsed as (
      select ss.id, ss.order_id from schedule_seats ss
      where seat_hold_lapsed(ss)
      order by ss.hold_expires_at
      limit ${batchSize}
      for update skip locked
    ), expired as (
      select expire_orders(array(select distinct order_id from lapsed)) as id
    ), released as (
      update schedule_seats ss
      set status = 'available', hold_expires_at = null, order_id = null, version = ss.version + 1
      -- = any(array(...)): index look-ups for the batch, never a scan of the whole table
      where ss.id = any(array(select id from lapsed))
      returning ss.schedule_id
    ), due as (
      -- the freed seats go to the schedules' wait-lists first (0013): noted in this transaction
      select note_seats_freed(array(select distinct schedule_id from released))
    )
    select (select count(*) from released)::int as seats, (select count(*) from due) as noted,
           coalesce((select array_agg(id) from expired), '{}') as "orderIds"
  `;
  return row!;
}

/**
 * Expires orders whose hold lapsed (`expire_orders`: items, order and `order.expired` event), so
 * their seats can be given to someone else. The caller has the seats locked.
 */
export async function expireOrders(tx: Tx, orderIds: number[]): Promise<number[]> {
  if (orderIds.length === 0) return [];
  const rows = await tx<{ id: number }[]>`select id from expire_orders(${orderIds}::bigint[]) as id`;
  return rows.map((r) => r.id);
}

/** Items cancelled since `since` (the moment a payment started): what that payment paid for. */
export async function itemsCancelledSince(tx: Tx, orderId: number, since: Date): Promise<ItemRow[]> {
  return tx<ItemRow[]>`
    select id, schedule_seat_id as "scheduleSeatId", price::text as price, status
    from order_items where order_id = ${orderId} and status = 'cancelled' and updated_at >= ${since}
    order by id
  `;
}

/** Moves a hold's deadline by `seconds` unless it was extended before; the new deadline, or undefined. */
export async function extendHoldOnce(tx: Tx, orderId: number, seconds: number): Promise<Date | undefined> {
  const [row] = await tx<{ holdExpiresAt: Date }[]>`
    update orders set hold_expires_at = hold_expires_at + make_interval(secs => ${seconds}),
      extended_at = now(), updated_at = now()
    where id = ${orderId} and extended_at is null
    returning hold_expires_at as "holdExpiresAt"
  `;
  return row?.holdExpiresAt;
}
