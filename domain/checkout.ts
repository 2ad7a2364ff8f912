import { createHash } from 'node:crypto';
import type { Db } from '../db/client';
import * as orders from '../db/orders';
import * as payments from '../db/payments';
import type { Provider } from '../db/vocabulary';
import { bookingLimits } from './config';
import { AppError, notFound } from './errors';
import { sameAmount } from './money';
import type { BookingLimits, Caller } from './orders';
import { applyGatewayPayment, applyPaymentEvent, type PaymentEvent } from './payments';
import { GatewayError, type PaymentGateway } from './ports';

/**
 * The browser side of paying: what a provider's payment window needs (`checkoutOf`), and the
 * confirm call a client makes when the window redirects back (`confirmPayment`). Both go through
 * the gateway port; what is applied is always what the gateway answers.
 */

/** What the provider's browser SDK needs for this payment (API.md, "Payment gateways"). */
export async function checkoutOf(db: Db, payment: payments.PaymentRow, gateway: PaymentGateway) {
  const { title, seats, userSub } = await payments.checkoutDetails(db, payment.orderId);
  return gateway.checkout({
    paymentId: payment.id,
    paymentRef: payment.publicId,
    amount: payment.amount,
    orderName: seats > 1 ? `${title} (${seats} seats)` : `${title} (1 seat)`,
    // stable per user and opaque: Toss asks that it not be guessable from personal data
    customerKey: `cust_${createHash('sha256').update(`customer:${userSub}`).digest('hex').slice(0, 32)}`,
  });
}

export interface ConfirmInput {
  /** Toss: from the success redirect. */
  paymentKey?: string;
  /** Toss: from the success redirect; must be the payment's amount. */
  amount?: string;
}

/** Providers whose payment window ends with a confirm call; the others are settled by webhook. */
const CONFIRMED_BY_CLIENT: readonly Provider[] = ['toss', 'portone'];

/**
 * Confirms a payment after the provider's redirect and applies the outcome at once. Toss captures
 * the money only now (its confirm API), so nothing is captured for an order that can no longer be
 * paid; PortOne has already charged, so its payment is fetched and applied like its webhook would.
 * The webhook and this call race each other: whichever applies a state first wins, the other is a
 * duplicate (applyGatewayPayment derives event ids from the state).
 */
export async function confirmPayment(
  db: Db,
  caller: Caller,
  orderId: number,
  paymentId: number,
  input: ConfirmInput,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
  limits: Pick<BookingLimits, 'maxSeatsPerUser'> = bookingLimits(),
): Promise<orders.OrderView> {
  const payment = await payments.paymentOfOrder(db, orderId, paymentId);
  if (!payment || (payment.userId !== caller.id && !caller.isAdmin)) throw notFound('Payment', paymentId);
  if (!CONFIRMED_BY_CLIENT.includes(payment.provider)) {
    throw new AppError(
      'CONFIRM_NOT_SUPPORTED',
      `${payment.provider} payments are settled by the gateway's webhook; there is nothing to confirm`,
    );
  }
  if (payment.provider === 'toss') {
    const missing = (['paymentKey', 'amount'] as const).filter((f) => input[f] === undefined);
    if (missing.length) {
      throw new AppError('VALIDATION_FAILED', `A Toss payment is confirmed with ${missing.join(' and ')}`, {
        errors: missing.map((f) => ({ field: `body.${f}`, message: 'required for a toss payment' })),
      });
    }
    // Toss's own rule: the amount the window reports must be checked before capturing it
    if (!sameAmount(input.amount!, payment.amount)) {
      throw new AppError('AMOUNT_MISMATCH', `The payment is for ${payment.amount}, not ${input.amount}`);
    }
  }
  const view = async () => (await orders.findOrderView(db, orderId))!;
  if (payment.status === 'success') {
    // applied already (the webhook came first, or a repeated confirm): the same answer again
    const order = await view();
    if (order.status === 'paid' || order.status === 'refunded') return order;
    throw noTicket(order);
  }
  if (payment.provider === 'toss') {
    // capturing now would take money for seats this order no longer holds
    if (payment.status === 'fail') throw new AppError('ORDER_NOT_PAYABLE', 'This payment attempt was closed');
    if (payment.orderLapsed) throw new AppError('ORDER_EXPIRED', 'The hold on these seats has expired');
    if (payment.orderStatus !== 'awaiting_payment') {
      throw new AppError('ORDER_NOT_PAYABLE', `An order that is ${payment.orderStatus} cannot be paid`);
    }
  }

  const gateway = await gatewayFor(payment.provider);
  let reported: Awaited<ReturnType<PaymentGateway['confirm']>>;
  try {
    reported = await gateway.confirm({
      paymentRef: payment.publicId,
      pgTid: input.paymentKey,
      amount: payment.amount,
    });
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    if (error.kind === 'declined') {
      // a refusal is final: the seats go back as for a failed payment
      await applyPaymentEvent(
        db,
        payment.provider,
        {
          eventId: `${payment.publicId}:declined`,
          type: 'payment.failed',
          paymentId: payment.id,
          pgTid: input.paymentKey ?? payment.publicId,
          amount: payment.amount,
          occurredAt: new Date().toISOString(),
        },
        limits,
      );
      throw declined(error.gatewayCode, error.message);
    }
    if (error.kind === 'unavailable') {
      // Toss may have captured a call whose answer never came: a retry finds it (ALREADY_PROCESSED),
      // the webhook applies it, and the closing check (checkClosedAttempts) asks if neither happens
      throw new AppError(
        'GATEWAY_UNAVAILABLE',
        'The payment gateway did not answer in time. Try again: the payment is applied once.',
        {
          gatewayCode: error.gatewayCode,
        },
      );
    }
    // our keys or our request: a fault of ours (502); anything else the client's paymentKey or a
    // payment the gateway does not have (not paid yet, a window that expired): a 4xx, nothing changed
    if (OUR_FAULT.has(error.gatewayCode)) {
      throw new AppError('GATEWAY_REJECTED', `The payment gateway refused our request: ${error.message}`, {
        gatewayCode: error.gatewayCode,
      });
    }
    throw new AppError(
      'PAYMENT_NOT_CONFIRMED',
      `The payment gateway did not confirm this payment: ${error.message}`,
      {
        gatewayCode: error.gatewayCode,
      },
    );
  }

  const outcome = await applyGatewayPayment(db, payment.provider, reported, limits);
  const order = await view();
  const now = (await payments.paymentOfOrder(db, orderId, paymentId))!;
  if (now.status === 'success' && order.status === 'paid') return order;
  if (reported.status === 'failed')
    throw declined(reported.failure?.code ?? 'FAILED', reported.failure?.message ?? 'The payment failed');
  if (reported.status === 'pending') {
    throw new AppError(
      'PAYMENT_PENDING',
      'The gateway has not completed this payment yet; it is applied when it does',
    );
  }
  if (outcome === 'amount_mismatch') {
    throw new AppError(
      'AMOUNT_MISMATCH',
      `The gateway charged ${reported.amount} ${reported.currency ?? 'KRW'}, not ${payment.amount} KRW; that charge is being refunded`,
      { order },
    );
  }
  throw noTicket(order);
}

/** Paid, but no ticket can be issued for it (the hold lapsed and the seats are gone, the order was cancelled meanwhile): the charge is refunded. */
const noTicket = (order: orders.OrderView) =>
  new AppError(
    'ORDER_EXPIRED',
    'No ticket can be issued for this payment (the hold lapsed or the order was cancelled); the charge is being refunded',
    { order },
  );

/** Gateway codes that mean our credentials or configuration are wrong (Toss, PortOne). */
const OUR_FAULT = new Set([
  'UNAUTHORIZED_KEY',
  'INVALID_API_KEY',
  'INCORRECT_BASIC_AUTH_FORMAT',
  'FORBIDDEN_REQUEST',
  'INVALID_AMOUNT',
  'UNAUTHORIZED',
  'FORBIDDEN',
]);

const declined = (gatewayCode: string, message: string) =>
  new AppError('PAYMENT_DECLINED', `The payment was declined: ${message}`, { gatewayCode });

/**
 * Asks the gateway about Toss and PortOne attempts we closed without its word — the hold expired
 * while a confirm's answer was lost, another attempt superseded one the buyer still paid, a webhook
 * never came. A paid one is applied like any late success (booked if the seats are still free,
 * refunded otherwise), so no money stays with us unnoticed. Each attempt is asked once; one whose
 * gateway does not answer now is asked again on the next run.
 */
export async function checkClosedAttempts(
  db: Db,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
  limits: Pick<BookingLimits, 'maxSeatsPerUser'> = bookingLimits(),
  batchSize = 50,
): Promise<{ checked: number; applied: number; unavailable: number }> {
  const result = { checked: 0, applied: 0, unavailable: 0 };
  for (const attempt of await payments.closedUncheckedAttempts(db, batchSize)) {
    try {
      const reported = await (await gatewayFor(attempt.provider)).fetch({
        paymentRef: attempt.publicId,
        pgTid: attempt.pgTid,
      });
      const outcome = await applyGatewayPayment(db, attempt.provider, reported, limits);
      if (outcome !== 'pending' && outcome !== 'already_failed') result.applied++;
    } catch (error) {
      if (!(error instanceof GatewayError) || error.kind === 'unavailable') {
        result.unavailable++;
        continue;
      }
      // 'rejected': the gateway has no such payment (the buyer never paid): nothing moved
    }
    await payments.markGatewayChecked(db, attempt.id);
    result.checked++;
  }
  return result;
}

/**
 * A signed `payment.cancelled` says what was cancelled when the gateway sent it; webhooks come late
 * and out of order (a console cancel's notice can arrive after our own refund of more), so the
 * total in it may be stale. The gateway can be asked, so it is: what is applied is its total now.
 * A payment the gateway does not know never completed there: the notice is applied as it is (a
 * cancelled attempt, i.e. a failure).
 */
export async function applyCancellationNotice(
  db: Db,
  provider: Provider,
  event: PaymentEvent,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
  limits: Pick<BookingLimits, 'maxSeatsPerUser'> = bookingLimits(),
) {
  const payment = await payments.findById(db, event.paymentId);
  if (!payment || payment.provider !== provider) return applyPaymentEvent(db, provider, event, limits);
  try {
    const reported = await (await gatewayFor(provider)).fetch({
      paymentRef: payment.publicId,
      pgTid: payment.pgTid,
    });
    return await applyGatewayPayment(db, provider, reported, limits);
  } catch (error) {
    if (error instanceof GatewayError && error.kind === 'rejected')
      return applyPaymentEvent(db, provider, event, limits);
    throw error;
  }
}
