import { type Db, inTx, type Tx } from '../db/client';
import * as orders from '../db/orders';
import { recordEvent } from '../db/outbox';
import * as payments from '../db/payments';
import * as seats from '../db/seats';
import type { PaymentEventType, Provider } from '../db/vocabulary';
import { bookingLimits, waitlistLimits } from './config';
import { fromCents, sameAmount, sumMoney, toCents } from './money';
import { type BookingLimits, cancelItems } from './orders';
import type { GatewayCancel, GatewayPayment } from './ports';
import { attributeCancels, recordGatewayRefund, requestRefund } from './refunds';
import { offerFreedSeats } from './waitlist-offers';

/**
 * A PG's webhook as the domain sees it: verified and normalised by the PG's adapter
 * (functions/adapters/pg-webhooks.ts), whatever format the PG itself sends.
 */
export interface PaymentEvent {
  /** The PG's id of this notification: each is applied once. */
  eventId: string;
  type: PaymentEventType;
  paymentId: number;
  pgTid: string;
  /** Decimal string, as the PG reported it. */
  amount: string;
  /** ISO 4217 when the PG reports one; anything but KRW is never accepted as payment. */
  currency?: string;
  /** ISO 8601 timestamp. */
  occurredAt: string;
  /**
   * A cancellation as the gateway reported it when asked (applyGatewayPayment): each of its
   * cancellations, ours by their keys. A notice applied as it came has none.
   */
  cancels?: readonly GatewayCancel[];
}

/**
 * Applies PG events. The rule that matters most: no money is kept without a ticket, and no ticket
 * is issued without money. Each (provider, eventId) is applied once — the processed-event row is
 * written in the transaction that applies it — and any arrival order is safe.
 */
export type Outcome =
  | 'duplicate'
  | 'unknown_payment'
  | 'provider_mismatch'
  | 'amount_mismatch'
  | 'paid'
  | 'paid_late'
  | 'refunded'
  | 'already_succeeded'
  | 'failed'
  | 'already_failed'
  | 'already_refunded'
  | 'cancelled_by_gateway'
  | 'partially_cancelled_by_gateway'
  | 'unconfirmed_cancel'
  | 'ignored_after_success';

export async function applyPaymentEvent(
  db: Db,
  provider: Provider,
  event: PaymentEvent,
  limits: Pick<BookingLimits, 'maxSeatsPerUser'> = bookingLimits(),
): Promise<Outcome> {
  // read outside the locks: the lock order is user → seats → order → payment, and the seats come first
  const owner = await payments.orderOfPayment(db, event.paymentId);
  const outcome = await inTx(db, async (tx): Promise<Outcome> => {
    const fresh = await payments.recordWebhookEvent(tx, {
      provider,
      eventId: event.eventId,
      type: event.type,
      paymentId: event.paymentId,
      payload: event,
    });
    if (!fresh) return 'duplicate';
    const outcome = await apply(tx, provider, event, owner, limits.maxSeatsPerUser);
    await payments.setWebhookOutcome(tx, provider, event.eventId, outcome);
    return outcome;
  });
  // a failure or a gateway's cancel freed seats: the wait-list gets them, right after the commit
  if (owner) await offerFreedSeats(db, owner.scheduleId, waitlistLimits());
  return outcome;
}

/**
 * Applies what a gateway said about a payment when asked (a fetch after its webhook, or its answer
 * to our confirm call) — the only way a Toss or PortOne payment changes here. Each state the gateway
 * reports becomes an event whose id is derived from that state, so the confirm call, the webhook and
 * every redelivery of either apply it once between them, in whatever order they arrive.
 */
export async function applyGatewayPayment(
  db: Db,
  provider: Provider,
  reported: GatewayPayment,
  limits: Pick<BookingLimits, 'maxSeatsPerUser'> = bookingLimits(),
  /**
   * Why it is applied, when not as the gateway's notice: a refusal of our refund `refund-<id>`.
   * Its cancelled total is then applied anew even if the notice of the same total was (one read
   * against our rows of another moment). Applying a state again is safe: what our rows already
   * record is never recorded twice.
   */
  occasion?: string,
): Promise<Outcome | 'pending'> {
  if (reported.status === 'pending') return 'pending';
  const payment = await payments.findByPublicId(db, reported.paymentRef);
  if (!payment) return 'unknown_payment';
  const base = {
    ...(reported.currency ? { currency: reported.currency } : {}),
    paymentId: payment.id,
    pgTid: reported.pgTid ?? reported.paymentRef,
    occurredAt: reported.approvedAt ?? new Date().toISOString(),
  };
  const ref = reported.paymentRef;
  if (reported.status === 'failed') {
    return applyPaymentEvent(
      db,
      provider,
      { ...base, eventId: `${ref}:failed`, type: 'payment.failed', amount: reported.amount },
      limits,
    );
  }
  let outcome: Outcome | undefined;
  if (reported.status === 'paid') {
    outcome = await applyPaymentEvent(
      db,
      provider,
      { ...base, eventId: `${ref}:paid`, type: 'payment.succeeded', amount: reported.amount },
      limits,
    );
  }
  // Fully or partly cancelled at the gateway: each new cancelled total is one event.
  if (reported.status === 'cancelled' || toCents(reported.cancelledAmount) > 0) {
    const cancelled = await applyPaymentEvent(
      db,
      provider,
      {
        ...base,
        eventId: `${ref}:cancelled:${reported.cancelledAmount}${occasion ? `:${occasion}` : ''}`,
        type: 'payment.cancelled',
        amount: reported.cancelledAmount,
        cancels: reported.cancels,
      },
      limits,
    );
    if (outcome === undefined || cancelled !== 'duplicate') outcome = cancelled;
  }
  return outcome!;
}

async function apply(
  tx: Tx,
  provider: Provider,
  event: PaymentEvent,
  owner: { orderId: number; userId: number; scheduleId: number } | undefined,
  maxSeatsPerUser: number,
): Promise<Outcome> {
  if (owner === undefined) return 'unknown_payment';
  // A success may book a lapsed hold, which counts against the per-user limit like a new hold: the
  // hold's per-user lock serialises the two. Taken first, as the hold takes it before the seats;
  // taken after the seats it could deadlock with a hold of this user waiting for those seats.
  if (event.type === 'payment.succeeded') await orders.lockUserInSchedule(tx, owner.userId, owner.scheduleId);
  const lockedSeats = await seats.lockSeatsOfOrder(tx, owner.orderId);
  const order = (await orders.lockOrder(tx, owner.orderId))!;
  const payment = (await payments.lockPayment(tx, event.paymentId))!;
  if (payment.status === 'refund') return 'unknown_payment';
  if (payment.provider !== provider) {
    await payments.flagPayment(tx, payment.id, `provider_mismatch: event from ${provider}`);
    return 'provider_mismatch';
  }
  if (event.type === 'payment.succeeded') {
    // booking a lapsed hold is a new sale: it must fit the user's limit as a new hold would
    const withinLimit = async (seatCount: number) =>
      (await orders.liveSeatsOfUser(tx, owner.userId, owner.scheduleId, order.id)) + seatCount <=
      maxSeatsPerUser;
    return applySuccess(tx, order, payment, event, lockedSeats, withinLimit);
  }
  if (event.type === 'payment.cancelled' && payment.status === 'success') {
    return applyGatewayCancel(tx, order, payment, event);
  }
  return applyFailure(tx, order, payment);
}

async function applySuccess(
  tx: Tx,
  order: orders.LockedOrder,
  payment: payments.PaymentRow,
  event: PaymentEvent,
  lockedSeats: { id: number; orderId: number | null; free: boolean }[],
  withinLimit: (seatCount: number) => Promise<boolean>,
): Promise<Outcome> {
  if (payment.status !== 'success' && (await payments.hasRefunds(tx, payment.id))) {
    // Its charge was already given back (a wrong amount): another success for it, re-sent under a
    // new event id or contradicting the first, must neither book nor refund a second time.
    await payments.addPaymentFlag(tx, payment.id, `after refund: ${event.eventId} reported ${event.amount}`);
    return 'already_refunded';
  }
  const currency = event.currency ?? 'KRW';
  const mismatch = `amount_mismatch: expected ${payment.amount}, received ${event.amount}${currency === 'KRW' ? '' : ` ${currency}`}`;
  if (!sameAmount(event.amount, payment.amount) || currency !== 'KRW') {
    if (payment.status === 'success') {
      // the tickets were paid with the right amount; a contradicting event is for an operator
      await payments.flagPayment(tx, payment.id, mismatch);
      return 'amount_mismatch';
    }
    // Never accepted, but money moved: the amount actually charged goes back. The payment is closed
    // so nothing leaves it open; the order keeps its hold, and the fan can start a correct payment.
    await payments.setPaymentStatus(tx, payment.id, { status: 'fail', pgTid: event.pgTid, flag: mismatch });
    await refundCharge(tx, order.id, payment, event, event.amount, 'amount_mismatch');
    return 'amount_mismatch';
  }
  if (payment.status === 'success') return 'already_succeeded';
  await payments.setPaymentStatus(tx, payment.id, {
    status: 'success',
    pgTid: event.pgTid,
    approvedAt: new Date(event.occurredAt),
  });

  if (order.status === 'created' || order.status === 'awaiting_payment') {
    const live = (await orders.itemsOfOrder(tx, order.id)).filter((i) => i.status !== 'cancelled');
    const ours = new Set(lockedSeats.filter((s) => s.orderId === order.id).map((s) => s.id));
    if (
      live.length > 0 &&
      live.every((i) => ours.has(i.scheduleSeatId)) &&
      !order.scheduleStarted &&
      order.scheduleStatus !== 'cancelled' &&
      // a lapsed hold is a late success whether or not the sweeper has run: the rule below applies
      (!order.lapsed || (order.scheduleOnSale && (await withinLimit(live.length))))
    ) {
      return book(
        tx,
        order,
        payment,
        live.map((i) => i.id),
        'paid',
      );
    }
  }

  if (
    order.status === 'cancelled' &&
    (order.cancelReason === 'expired' || order.cancelReason === 'payment_failed')
  ) {
    // A late success: the seats it paid for are booked if nobody else has them now and the user's
    // other orders since leave room for them under the per-user limit.
    const paidFor = await orders.itemsCancelledSince(tx, order.id, payment.createdAt);
    const free = new Set(lockedSeats.filter((s) => s.free || s.orderId === order.id).map((s) => s.id));
    // booking seats whose hold has lapsed is a new sale: only while the schedule sells
    if (
      order.scheduleOnSale &&
      paidFor.length > 0 &&
      paidFor.every((i) => free.has(i.scheduleSeatId)) &&
      sameAmount(sumMoney(paidFor.map((i) => i.price)), payment.amount) &&
      (await withinLimit(paidFor.length))
    ) {
      const lapsedHolders = lockedSeats
        .filter((s) => s.orderId !== null && s.orderId !== order.id)
        .map((s) => s.orderId!);
      await orders.expireOrders(tx, [...new Set(lapsedHolders)]);
      return book(
        tx,
        order,
        payment,
        paidFor.map((i) => i.id),
        'paid_late',
      );
    }
  }

  // No ticket can be issued for this money.
  await refundCharge(tx, order.id, payment, event, payment.amount, 'payment_without_ticket');
  return 'refunded';
}

/** Records the refund of a charge the PG reported (sent to the PG from the row) and announces it. */
async function refundCharge(
  tx: Tx,
  orderId: number,
  payment: payments.PaymentRow,
  event: PaymentEvent,
  amount: string,
  reason: 'payment_without_ticket' | 'amount_mismatch',
): Promise<void> {
  const refundId = await requestRefund(tx, { ...payment, pgTid: event.pgTid }, amount, reason);
  await recordEvent(tx, 'order.refunded', {
    orderId,
    paymentId: payment.id,
    refundPaymentIds: [refundId],
    amount,
    reason,
  });
}

async function book(
  tx: Tx,
  order: orders.LockedOrder,
  payment: payments.PaymentRow,
  itemIds: number[],
  outcome: 'paid' | 'paid_late',
): Promise<Outcome> {
  await orders.setItemsStatus(tx, itemIds, 'booked');
  await seats.bookSeatsOfItems(tx, order.id, itemIds);
  await payments.failOpenPayments(tx, order.id, 'superseded', payment.id);
  await orders.setOrderState(tx, order.id, {
    status: 'paid',
    holdExpiresAt: null,
    cancelReason: null,
    paidBy: payment.id,
  });
  await recordEvent(tx, 'order.paid', {
    orderId: order.id,
    paymentId: payment.id,
    amount: payment.amount,
    late: outcome === 'paid_late',
  });
  return outcome;
}

/**
 * A successful payment cancelled at the gateway (the merchant console, the card company, a
 * chargeback): the money is back with the customer, so the tickets it paid for cannot stay booked.
 * The gateway's cancellations say whose each is: one carrying the key of our refund is that refund
 * (executed: a failed one is sent after all); the rest the gateway gave back on its own, and only
 * what our rows made at the gateway do not record yet is new (attributeCancels). A full
 * cancellation cancels the order's booked items (seats back on sale) and records the gateway's
 * refund as already sent — nothing is sent again. A partial one cannot say which seats it was for:
 * it is recorded and flagged for an operator, and the tickets stay.
 */
async function applyGatewayCancel(
  tx: Tx,
  order: orders.LockedOrder,
  payment: payments.PaymentRow,
  event: PaymentEvent,
): Promise<Outcome> {
  if (!event.cancels) {
    // a notice the gateway would not confirm when asked: nothing to attribute, an operator looks
    await payments.addPaymentFlag(tx, payment.id, `gateway_cancel_unconfirmed: ${event.eventId}`);
    return 'unconfirmed_cancel';
  }
  // locked: no worker claims or settles one of them while this reads and settles them
  const refunds = await payments.lockedRefundsOf(tx, payment.id);
  const { executed, unrecordedCents } = attributeCancels(payment.publicId, event.cancels, refunds);
  await payments.settleExecutedRefunds(
    tx,
    executed.map((r) => r.id),
  );
  let extra = unrecordedCents;
  // What the gateway gave back on its own is first taken as our refunds it did for us: refunds we
  // gave up on, then refunds not tried yet — sending those too would give the money back twice —
  // then tried ones it can no longer execute (more than it has left: their retries would be refused).
  const open = refunds.filter((r) => !executed.includes(r));
  const leftAtGateway = toCents(payment.amount) - toCents(event.amount);
  const madeThere: number[] = [];
  const absorb = (candidates: payments.RefundOfPayment[]) => {
    for (const refund of candidates) {
      if (toCents(refund.amount) > extra) break;
      madeThere.push(refund.id);
      extra -= toCents(refund.amount);
    }
  };
  absorb(open.filter((r) => r.status === 'failed'));
  absorb(open.filter((r) => r.status === 'requested' && r.attempts === 0));
  absorb(open.filter((r) => r.status === 'requested' && r.attempts > 0 && toCents(r.amount) > leftAtGateway));
  await payments.settleMadeAtGateway(tx, madeThere);
  if (extra <= 0) return 'already_refunded';
  const amount = fromCents(extra);
  const fullyCancelled = leftAtGateway <= 0;
  const booked = (await orders.itemsOfOrder(tx, order.id)).filter((i) => i.status === 'booked');
  // only the payment that booked the tickets can take them away: another one (a duplicate charge)
  // is money without a ticket, whose cancellation only settles it
  if (fullyCancelled && order.status === 'paid' && order.paidBy === payment.id && booked.length) {
    await cancelItems(tx, order, booked, 'gateway_cancelled', async () => [
      await recordGatewayRefund(tx, payment, amount),
    ]);
    return 'cancelled_by_gateway';
  }
  const refundId = await recordGatewayRefund(tx, payment, amount);
  await payments.addPaymentFlag(
    tx,
    payment.id,
    `gateway_cancel: ${amount} cancelled at the gateway (refund ${refundId})`,
  );
  await recordEvent(tx, 'order.refunded', {
    orderId: order.id,
    paymentId: payment.id,
    refundPaymentIds: [refundId],
    amount,
    reason: 'gateway_cancelled',
  });
  return fullyCancelled ? 'cancelled_by_gateway' : 'partially_cancelled_by_gateway';
}

async function applyFailure(
  tx: Tx,
  order: orders.LockedOrder,
  payment: payments.PaymentRow,
): Promise<Outcome> {
  if (payment.status === 'success') return 'ignored_after_success';
  if (payment.status === 'fail') return 'already_failed';
  await payments.setPaymentStatus(tx, payment.id, { status: 'fail' });
  await recordEvent(tx, 'payment.failed', { orderId: order.id, paymentId: payment.id });
  if (order.status === 'awaiting_payment' || order.status === 'created') {
    const live = (await orders.itemsOfOrder(tx, order.id)).filter((i) => i.status !== 'cancelled');
    if (live.length) await cancelItems(tx, order, live, 'payment_failed');
  }
  return 'failed';
}
