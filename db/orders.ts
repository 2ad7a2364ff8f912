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

const orderView = (db: Db) => db`
  o.id, o.user_id as "userId", o.schedule_id as "scheduleId", o.status, o.total_amount::text as "totalAmount",
  o.hold_expires_at as "holdExpiresAt", o.created_at as "createdAt",
  coalesce((
    select json_agg(json_build_object('id', oi.id, 'seatId', seat.id, 'section', seat.section, 'rowLabel', seat.row_label,
                                      'number', seat.number, 'price', oi.price::text, 'status', oi.status) order by oi.id)
    from order_items oi
    join schedule_seats ss on ss.id = oi.schedule_seat_id
    join seats seat on seat.id = ss.seat_id
    where oi.order_id = o.id), '[]') as items,
  coalesce((
    select json_agg(json_build_object('id', p.id, 'provider', p.provider, 'amount', p.amount::text, 'status', p.status,
                                      'pgTid', p.pg_tid, 'approvedAt', to_char(p.approved_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) order by p.id)
    from payments p where p.order_id = o.id), '[]') as payments
`;

export async function findOrderView(db: Db, orderId: number): Promise<OrderView | undefined> {
  const [row] = await db<OrderView[]>`select ${orderView(db)} from orders o where o.id = ${orderId}`;
  return row;
}

export async function listOrdersOfUser(
  db: Db,
  userId: number,
  limit: number,
  beforeId?: number,
): Promise<OrderView[]> {
  return db<OrderView[]>`
    select ${orderView(db)} from orders o
    where o.user_id = ${userId} ${beforeId ? db`and o.id < ${beforeId}` : db``}
    order by o.id desc
    limit ${limit + 1}
  `;
}

export interface LockedOrder {
  id: number;
  userId: number | null;
  scheduleId: number;
  status: OrderStatus;
  cancelReason: CancelReason | null;
  totalAmount: string;
  lapsed: boolean;
  scheduleStarted: boolean;
  scheduleStatus: ScheduleStatus;
}

/** Locks the order row. Callers lock the order's seats first (see db/seats.ts). */
export async function lockOrder(tx: Tx, orderId: number): Promise<LockedOrder | undefined> {
  const [row] = await tx<LockedOrder[]>`
    select o.id, o.user_id as "userId", o.schedule_id as "scheduleId", o.status, o.cancel_reason as "cancelReason",
           o.total_amount::text as "totalAmount", coalesce(o.hold_expires_at <= now(), false) as lapsed,
           s.start_at <= now() as "scheduleStarted", s.status as "scheduleStatus"
    from orders o join schedules s on s.id = o.schedule_id
    where o.id = ${orderId}
    for update of o
  `;
  return row;
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
): Promise<{ status: ScheduleStatus; started: boolean; singleSeatRule: boolean } | undefined> {
  const [row] = await tx<{ status: ScheduleStatus; started: boolean; singleSeatRule: boolean }[]>`
    select s.status, s.start_at <= now() as started, s.single_seat_rule as "singleSeatRule",
           pg_advisory_xact_lock(hashtextextended('hold:' || ${userId}::text || ':' || s.id::text, 0)) is null as locked
    from schedules s where s.id = ${scheduleId}
  `;
  return row;
}

export async function setItemsStatus(
  tx: Tx,
  itemIds: number[],
  status: Extract<OrderItemStatus, 'booked' | 'cancelled'>,
): Promise<void> {
  await tx`update order_items set status = ${status}, updated_at = now() where id = any(${itemIds}::bigint[])`;
}

/** Recomputes the total from the live items: the total always equals what is still bought. */
export async function setOrderState(
  tx: Tx,
  orderId: number,
  /** `holdExpiresAt` left out: unchanged. */
  state: { status: OrderStatus; holdExpiresAt?: Date | null; cancelReason?: CancelReason | null },
): Promise<void> {
  await tx`
    update orders set
      status = ${state.status},
      hold_expires_at = ${state.holdExpiresAt === undefined ? tx`hold_expires_at` : tx`${state.holdExpiresAt}`},
      cancel_reason = ${state.cancelReason ?? null},
      total_amount = coalesce((select sum(price) from order_items where order_id = ${orderId} and status <> 'cancelled'), 0),
      updated_at = now()
    where id = ${orderId}
  `;
}

/**
 * The sweeper's batch: claims lapsed seats with SKIP LOCKED (a fan or another sweeper working on a
 * seat is never waited for), expires their orders, announces them in the outbox and puts the
 * seats back on sale — one statement.
 */
export async function expireLapsedBatch(
  db: Db,
  batchSize: number,
): Promise<{ seats: number; orderIds: number[] }> {
  const [row] = await db<{ seats: number; orderIds: number[] }[]>`
    with lapsed as (
      select id, order_id from schedule_seats
      where status in ('held', 'pending_payment') and hold_expires_at <= now()
      order by hold_expires_at
      limit ${batchSize}
      for update skip locked
    ), expired as (
      update orders set status = 'cancelled', cancel_reason = 'expired', hold_expires_at = null, total_amount = 0, updated_at = now()
      -- = any(array(...)): index look-ups for the batch, never a scan of the whole table
      where id = any(array(select distinct order_id from lapsed))
        and status in ('created', 'awaiting_payment') and hold_expires_at <= now()
      returning id
    ), items as (
      update order_items set status = 'cancelled', updated_at = now()
      where order_id = any(array(select id from expired)) and status = 'held'
      returning 1
    ), events as (
      insert into outbox (detail_type, detail)
      select 'order.expired', jsonb_build_object('orderId', id, 'reason', 'hold lapsed') from expired
    ), released as (
      update schedule_seats ss
      set status = 'available', hold_expires_at = null, order_id = null, version = ss.version + 1
      where ss.id = any(array(select id from lapsed))
      returning 1
    )
    select (select count(*) from released)::int as seats,
           coalesce((select array_agg(id) from expired), '{}') as "orderIds",
           (select count(*) from items) as items
  `;
  return row!;
}

/** Expires orders whose hold lapsed, so their seats can be given to someone else. */
export async function expireOrders(tx: Tx, orderIds: number[]): Promise<number[]> {
  if (orderIds.length === 0) return [];
  const rows = await tx<{ id: number }[]>`
    with expired as (
      update orders set status = 'cancelled', cancel_reason = 'expired', hold_expires_at = null, total_amount = 0, updated_at = now()
      where id = any(${orderIds}::bigint[]) and status in ('created', 'awaiting_payment') and hold_expires_at <= now()
      returning id
    ), items as (
      update order_items set status = 'cancelled', updated_at = now()
      where order_id = any(array(select id from expired)) and status = 'held'
      returning 1
    )
    select id, (select count(*) from items) as items from expired
  `;
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
