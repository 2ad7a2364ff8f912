import { type Db, inTx, type Tx } from '../db/client';
import * as orders from '../db/orders';
import { recordEvent } from '../db/outbox';
import * as payments from '../db/payments';
import * as seats from '../db/seats';
import type { CancelReason, Provider } from '../db/vocabulary';
import { waitlistLimits } from './config';
import { AppError, notFound } from './errors';
import { fromCents, sumMoney, toCents } from './money';
import { type RefundReason, requestRefund } from './refunds';
import { offerFreedSeats } from './waitlist-offers';

/**
 * The booking rules: holds are orders, all or nothing; a seat is never given to two orders; a
 * lapsed hold is free to the next fan at once; cancelled seats are on sale at once; paid items that
 * are cancelled are refunded.
 */

export interface BookingLimits {
  holdTtlSeconds: number;
  paymentTtlSeconds: number;
  maxSeatsPerOrder: number;
  maxSeatsPerUser: number;
}

/** Seats the fan picked on the seat map. */
export interface SeatPick {
  scheduleId: number;
  seatIds: number[];
}

/** Who is asking: the domain decides what they may see and change. */
export interface Caller {
  id: number;
  isAdmin: boolean;
}

export interface PlacedOrder {
  order: orders.OrderView;
  expiredOrderIds: number[];
}

/** Holds `seatIds` for the user and creates the order, in one transaction. */
export async function placeOrder(
  db: Db,
  userId: number,
  input: SeatPick,
  limits: BookingLimits,
): Promise<PlacedOrder> {
  const duplicates = [...new Set(input.seatIds.filter((id, i) => input.seatIds.indexOf(id) !== i))];
  if (duplicates.length) {
    throw new AppError('DUPLICATE_SEATS', 'A seat may appear only once in an order', { seatIds: duplicates });
  }
  if (input.seatIds.length > limits.maxSeatsPerOrder) {
    throw new AppError('SEAT_LIMIT_EXCEEDED', `At most ${limits.maxSeatsPerOrder} seats per order`);
  }
  const hold = {
    userId,
    scheduleId: input.scheduleId,
    seatIds: input.seatIds,
    ttlSeconds: limits.holdTtlSeconds,
    maxSeatsPerUser: limits.maxSeatsPerUser,
  };
  // The rush path: one call, one round trip (db/migrations/0005_one_home_per_rule.sql).
  const result = await seats.holdSeats(db, { ...hold, singleSeatRuleChecked: false });
  if (!result.order && result.schedule?.onSale && result.schedule.singleSeatRule) {
    // Schedules with the single-seat rule need a look at the row first: the slower path.
    return inTx(db, async (tx) => {
      await lockUserInSchedule(tx, userId, input.scheduleId);
      await refuseStrandingPick(tx, input.scheduleId, input.seatIds);
      return placedOrThrow(
        await seats.holdSeats(tx, { ...hold, singleSeatRuleChecked: true }),
        input,
        limits,
      );
    });
  }
  return placedOrThrow(result, input, limits);
}

/** Checks the schedule is on sale and serialises this user's orders in it (for the seat limit). */
export async function lockUserInSchedule(tx: Tx, userId: number, scheduleId: number) {
  const schedule = await orders.lockUserInSchedule(tx, userId, scheduleId);
  if (!schedule) throw notFound('Schedule', scheduleId);
  if (!schedule.onSale) throw new AppError('SALES_CLOSED', 'This schedule is not on sale');
  return schedule;
}

/** The order a successful hold created, or the error that explains why there is none. */
export function placedOrThrow(
  result: seats.HoldResult,
  { scheduleId, seatIds }: SeatPick,
  limits: BookingLimits,
): PlacedOrder {
  if (result.order) return { order: result.order, expiredOrderIds: result.expiredOrderIds };
  if (!result.schedule) throw notFound('Schedule', scheduleId);
  if (!result.schedule.onSale) throw new AppError('SALES_CLOSED', 'This schedule is not on sale');
  if (result.foundSeatIds.length !== seatIds.length) {
    const found = new Set(result.foundSeatIds);
    throw new AppError('SEATS_NOT_IN_SCHEDULE', 'Some seats are not part of this schedule', {
      seatIds: seatIds.filter((id) => !found.has(id)),
    });
  }
  if (result.owned + seatIds.length > limits.maxSeatsPerUser) throw seatLimitExceeded(result.owned, limits);
  throw new AppError('SEAT_UNAVAILABLE', 'Some seats are no longer available', {
    seatIds: result.takenSeatIds,
  });
}

/** The per-user limit, as both kinds of pick explain it. */
export function seatLimitExceeded(owned: number, limits: BookingLimits): AppError {
  return new AppError(
    'SEAT_LIMIT_EXCEEDED',
    `At most ${limits.maxSeatsPerUser} seats per customer in one schedule (you hold or own ${owned})`,
  );
}

/** Schedules with the single-seat rule refuse explicit picks that leave one seat alone. */
async function refuseStrandingPick(tx: Tx, scheduleId: number, seatIds: number[]) {
  const locked = await seats.lockSeats(tx, scheduleId, seatIds);
  // unknown or taken seats get their own, more useful error from the hold itself
  if (locked.length !== seatIds.length || locked.some((s) => !s.free)) return;
  const stranded = await seats.singleSeatsLeftBy(tx, scheduleId, seatIds);
  if (stranded.length) {
    throw new AppError(
      'SINGLE_SEAT_GAP',
      'This pick would leave a single empty seat that nobody can buy with a neighbour',
      {
        seatIds: stranded,
      },
    );
  }
}

/** The order if the caller may see it: its owner, or an admin. Anyone else gets a 404. */
export async function getOrder(db: Db, caller: Caller, orderId: number): Promise<orders.OrderView> {
  const order = await orders.findOrderView(db, orderId);
  if (!order || (order.userId !== caller.id && !caller.isAdmin)) throw notFound('Order', orderId);
  return order;
}

/** What a customer sees of an order (the owner's internal id stays internal). */
export function orderResponse({ userId: _, ...order }: orders.OrderView) {
  return order;
}

export async function listMyOrders(db: Db, userId: number, limit: number, cursor?: string) {
  const beforeId = decodeCursor(cursor);
  const rows = await orders.listOrdersOfUser(db, userId, limit, beforeId);
  const page = rows.slice(0, limit);
  return { items: page, nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null };
}

export const encodeCursor = (id: number) => Buffer.from(String(id)).toString('base64url');
export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new AppError('VALIDATION_FAILED', 'cursor is not valid', {
      errors: [{ field: 'query.cursor', message: 'not a cursor from this API' }],
    });
  }
  return id;
}

/** Locks an order the caller owns, after its seats (the global lock order). */
async function lockOwnOrder(tx: Tx, caller: Caller, orderId: number): Promise<orders.LockedOrder> {
  const owner = await orders.orderOwner(tx, orderId);
  if (!owner || (owner.userId !== caller.id && !caller.isAdmin)) throw notFound('Order', orderId);
  await seats.lockSeatsOfOrder(tx, orderId);
  return (await orders.lockOrder(tx, orderId))!;
}

/** Gateways that take KRW in whole won (no minor unit), as Toss and PortOne do. */
const WHOLE_WON_ONLY: readonly Provider[] = ['toss', 'portone'];

/**
 * Starts a payment: one open attempt per order (asking again with the same provider returns it),
 * amount = the order's total, seats reserved until the payment TTL after the first start.
 */
export async function startPayment(
  db: Db,
  caller: Caller,
  orderId: number,
  provider: Provider,
  limits: BookingLimits,
): Promise<payments.PaymentRow> {
  return inTx(db, async (tx) => {
    const order = await lockOwnOrder(tx, caller, orderId);
    if (order.status === 'awaiting_payment' && !order.lapsed) {
      const open = await payments.openPaymentOf(tx, orderId);
      if (open?.provider === provider) return open;
      // switching provider: the earlier attempt is superseded (a late success on it is still honoured)
      await payments.failOpenPayments(tx, orderId, 'superseded');
    } else if (order.status === 'created' || order.status === 'awaiting_payment') {
      if (order.lapsed) throw new AppError('ORDER_EXPIRED', 'The hold on these seats has expired');
    } else {
      throw new AppError('ORDER_NOT_PAYABLE', `An order that is ${order.status} cannot be paid`);
    }
    if (order.scheduleStarted || order.scheduleStatus === 'cancelled') {
      throw new AppError('ORDER_NOT_PAYABLE', 'This performance can no longer be paid for');
    }
    if (WHOLE_WON_ONLY.includes(provider) && toCents(order.totalAmount) % 100 !== 0) {
      throw new AppError(
        'ORDER_NOT_PAYABLE',
        `${provider} takes whole won only; ${order.totalAmount} has a fraction: pay with card, kakao or naver`,
      );
    }
    if (order.status === 'created') {
      // The deadline is counted once, from the first start: if a later start (another provider, a
      // retry) moved it, switching providers every few minutes would keep the seats off sale forever.
      const expiresAt = new Date(Date.now() + limits.paymentTtlSeconds * 1000);
      await seats.setSeatsOfOrder(tx, orderId, 'pending_payment', expiresAt);
      await orders.setOrderState(tx, orderId, { status: 'awaiting_payment', holdExpiresAt: expiresAt });
    }
    return payments.insertPayment(tx, orderId, provider);
  });
}

/**
 * A little more time for a hold, once: the order and its seats' deadline move by `seconds`. Only a
 * hold that has not lapsed and whose payment has not started — a started payment's deadline is
 * counted once (see startPayment), so an extension never moves it.
 */
export async function extendHold(
  db: Db,
  caller: Caller,
  orderId: number,
  seconds: number,
): Promise<orders.OrderView> {
  return inTx(db, async (tx) => {
    const order = await lockOwnOrder(tx, caller, orderId);
    if (order.status !== 'created') {
      throw new AppError('ORDER_NOT_PAYABLE', `An order that is ${order.status} has no hold to extend`);
    }
    if (order.lapsed) throw new AppError('ORDER_EXPIRED', 'The hold on these seats has expired');
    // an offer's deadline is already its own, longer one (OFFER_TTL_SECONDS); moving it would keep
    // the next entries of the wait-list waiting longer than the offer promised them
    if (order.offer) throw new AppError('EXTENSION_USED', 'A wait-list offer keeps its own deadline');
    const extendedTo = await orders.extendHoldOnce(tx, orderId, seconds);
    if (!extendedTo) throw new AppError('EXTENSION_USED', 'This hold has already been extended once');
    await seats.setHeldSeatsDeadline(tx, orderId, extendedTo);
    return (await orders.findOrderView(tx, orderId))!;
  });
}

/**
 * Cancels the whole order or some items. Held seats go back on sale at once; booked items are
 * refunded. While a payment is in flight only the whole order may be cancelled (the PG was asked
 * for the full amount).
 */
export async function cancelOrder(
  db: Db,
  caller: Caller,
  orderId: number,
  itemIds?: number[],
): Promise<orders.OrderView> {
  const view = await inTx(db, async (tx) => {
    const order = await lockOwnOrder(tx, caller, orderId);
    if (order.scheduleStarted)
      throw new AppError('SCHEDULE_STARTED', 'The performance has started; nothing can be cancelled');
    const items = await orders.itemsOfOrder(tx, orderId);
    const live = items.filter((i) => i.status !== 'cancelled');
    let chosen = live;
    if (itemIds) {
      const unknown = itemIds.filter((id) => !items.some((i) => i.id === id));
      if (unknown.length)
        throw new AppError('NOT_FOUND', `Items ${unknown.join(', ')} are not part of order ${orderId}`);
      chosen = live.filter((i) => itemIds.includes(i.id));
    }
    const cancellable =
      order.status === 'paid' ||
      ((order.status === 'created' || order.status === 'awaiting_payment') && !order.lapsed);
    if (!cancellable || chosen.length === 0) {
      throw new AppError(
        'NOTHING_CANCELLABLE',
        order.lapsed
          ? 'The hold has already expired'
          : `Nothing in this ${order.status} order can be cancelled`,
      );
    }
    if (order.status === 'awaiting_payment' && chosen.length < live.length) {
      throw new AppError(
        'CONFLICT',
        'A payment is in progress: cancel the whole order, or wait for the payment',
      );
    }
    await cancelItems(tx, order, chosen, 'customer');
    return (await orders.findOrderView(tx, orderId))!;
  });
  // the freed seats go to the wait-list, right after the commit that freed them
  await offerFreedSeats(db, view.scheduleId, waitlistLimits());
  return view;
}

/**
 * Cancels items of a locked order: seats back on sale, booked items refunded, order state and
 * total recomputed, and the events others care about written to the outbox.
 */
export async function cancelItems(
  tx: Tx,
  order: orders.LockedOrder,
  chosen: orders.ItemRow[],
  reason: CancelReason | 'gateway_cancelled',
  /** How the money of cancelled paid items goes back: by default refunds are requested from the gateway. */
  giveBack: (amount: string) => Promise<number[]> = (amount) => refund(tx, order.id, amount, reason),
) {
  await orders.setItemsStatus(
    tx,
    chosen.map((i) => i.id),
    'cancelled',
  );
  await seats.releaseSeats(
    tx,
    order.id,
    chosen.map((i) => i.scheduleSeatId),
  );
  const remaining = (await orders.itemsOfOrder(tx, order.id)).filter((i) => i.status !== 'cancelled');
  const paidCancelled = chosen.filter((i) => i.status === 'booked');

  if (order.status === 'paid') {
    const refundIds = await giveBack(sumMoney(paidCancelled.map((i) => i.price)));
    const status = remaining.length ? 'paid' : 'refunded';
    await orders.setOrderState(tx, order.id, { status, holdExpiresAt: null });
    await recordEvent(tx, 'order.refunded', {
      orderId: order.id,
      itemIds: chosen.map((i) => i.id),
      amount: sumMoney(paidCancelled.map((i) => i.price)),
      refundPaymentIds: refundIds,
      orderStatus: status,
      reason,
    });
    return;
  }
  if (reason === 'gateway_cancelled') throw new Error('Only a paid order is cancelled by its gateway');
  if (remaining.length) {
    await orders.setOrderState(tx, order.id, { status: order.status });
  } else {
    await payments.failOpenPayments(tx, order.id, `order cancelled: ${reason}`);
    await orders.setOrderState(tx, order.id, {
      status: 'cancelled',
      holdExpiresAt: null,
      cancelReason: reason,
    });
    await recordEvent(tx, 'order.cancelled', { orderId: order.id, reason });
  }
}

/**
 * Records refunds of `amount` against the order's successful payments, oldest first. What they
 * cannot cover (tickets were kept with less money behind them than their price: an earlier refund
 * or charge went wrong) is never dropped: the cancellation goes ahead — the customer gets back
 * everything that is left — and the shortfall is flagged on the latest successful payment, where
 * the reconciliation report shows it to an operator.
 */
export async function refund(
  tx: Tx,
  orderId: number,
  amount: string,
  reason: RefundReason,
): Promise<number[]> {
  let left = toCents(amount);
  const ids: number[] = [];
  const refundable = await payments.refundablePayments(tx, orderId);
  for (const p of refundable) {
    if (left <= 0) break;
    const take = Math.min(left, toCents(p.refundable));
    if (take <= 0) continue;
    ids.push(await requestRefund(tx, p, fromCents(take), reason));
    left -= take;
  }
  if (left > 0) {
    const latest = refundable.at(-1);
    // a paid order always has a successful payment; without one there is nothing to record against
    if (!latest) throw new Error(`Order ${orderId} owes a refund of ${amount} but has no successful payment`);
    await payments.addPaymentFlag(
      tx,
      latest.id,
      `refund_shortfall: ${fromCents(left)} of a ${amount} refund not covered by the order's payments`,
    );
  }
  return ids;
}
