import { type Db, inTx, type Tx } from '../db/client';
import { recordEvent } from '../db/outbox';
import * as payments from '../db/payments';
import type { Provider } from '../db/vocabulary';
import { toCents } from './money';
import { GatewayError, type GatewayPayment, type PaymentGateway } from './ports';

/**
 * Refunds are executed, not only recorded. Every refund starts as a `payments` row with
 * `refund_status = 'requested'` and a `refund.requested` event in the same transaction; the outbox
 * relay publishes the event, the bus routes it to the refund queue, and the refund worker calls the
 * gateway's cancel API (`sendRefund`). The idempotency key is derived from the refund row, so a
 * retried call — after a timeout, a lost answer, a redelivered message — never gives money back twice.
 */

export type RefundReason =
  | 'customer'
  | 'expired'
  | 'payment_failed'
  | 'schedule_cancelled'
  | 'payment_without_ticket'
  | 'amount_mismatch'
  | 'gateway_cancelled';

/** Records that `amount` of `of` is owed back and asks for it to be sent. Returns the refund's id. */
export async function requestRefund(
  tx: Tx,
  of: payments.PaymentRow,
  amount: string,
  reason: RefundReason,
): Promise<number> {
  const refundId = await payments.insertRefund(tx, of, amount, 'requested');
  await recordEvent(tx, 'refund.requested', {
    refundId,
    paymentId: of.id,
    orderId: of.orderId,
    provider: of.provider,
    amount,
    reason,
  });
  return refundId;
}

/** Records money the gateway already gave back on its own side (nothing to send). */
export async function recordGatewayRefund(tx: Tx, of: payments.PaymentRow, amount: string): Promise<number> {
  return payments.insertRefund(tx, of, amount, 'sent');
}

/**
 * The same refund always sends the same key: the gateway executes it once however often it is sent.
 * The payment's random public id makes it unique beyond this database too (a test merchant shared by
 * environments, a database restored or reset), where a bare row id would repeat within the
 * gateway's key window.
 */
export const refundIdempotencyKey = (refund: { id: number; paymentRef: string }) =>
  `refund-${refund.paymentRef}-${refund.id}`;

/** A refund's idempotency key inside any text (refundIdempotencyKey; a public id is [A-Za-z0-9_-]). */
const REFUND_KEY = /\brefund-[A-Za-z0-9_-]+-\d+\b/;

/**
 * Our refund's key in what a gateway kept of a cancellation (its Idempotency-Key, or the reason
 * our cancel put the key in); null when there is none: a cancellation made at the gateway.
 */
export const refundKeyIn = (text: string | null | undefined): string | null =>
  (text && REFUND_KEY.exec(text)?.[0]) || null;

/** How many times the worker asks the gateway (each ask already retried by the adapter) before giving up. */
export const MAX_REFUND_ATTEMPTS = 5;

export type RefundOutcome =
  /** the gateway accepted it */
  | 'sent'
  /** given up: the gateway refused it, or stayed unavailable through every attempt */
  | 'failed'
  /** the gateway was unavailable; ask again later */
  | 'retry'
  /** nothing to do: already sent or failed (a redelivered message) */
  | 'settled';

export interface RefundResult {
  outcome: RefundOutcome;
  error?: string;
  /** What the gateway reported of the payment when it refused the refund: for the caller to apply. */
  reported?: { provider: Provider; payment: GatewayPayment };
}

/**
 * Sends one requested refund to its gateway. The row is claimed (attempts + 1) and the transaction
 * ends before the call: no lock is held while a gateway takes its time, and two workers sending the
 * same refund at once are safe because both send the same idempotency key.
 */
export async function sendRefund(
  db: Db,
  refundId: number,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
  maxAttempts = MAX_REFUND_ATTEMPTS,
): Promise<RefundResult> {
  const refund = await inTx(db, (tx) => payments.claimRefund(tx, refundId));
  if (!refund) return { outcome: 'settled' };
  try {
    const gateway = await gatewayFor(refund.provider);
    await gateway.cancel({
      paymentRef: refund.paymentRef,
      pgTid: refund.pgTid,
      amount: refund.amount,
      reason: `Refund ${refund.id} of order ${refund.orderId}`,
      idempotencyKey: refundIdempotencyKey(refund),
      cancellableAmount: refund.cancellable,
    });
  } catch (error) {
    const message =
      error instanceof GatewayError ? `${error.kind} ${error.gatewayCode}: ${error.message}` : String(error);
    // only the gateway's refusal is final: anything else (unavailable, a secret not readable now, a
    // network error outside the adapter) is tried again until the attempts run out
    const refused = error instanceof GatewayError && error.kind !== 'unavailable';
    if (refused) return settleRefusal(db, refund, message, gatewayFor, maxAttempts);
    const retry = refund.attempts < maxAttempts;
    await inTx(db, (tx) => (retry ? requestAgain(tx, refund, message) : giveUp(tx, refund, message)));
    return { outcome: retry ? 'retry' : 'failed', error: message };
  }
  await inTx(db, async (tx) => {
    if (await payments.settleRefund(tx, refund.id, { status: 'sent' })) {
      await recordEvent(tx, 'refund.sent', {
        refundId: refund.id,
        orderId: refund.orderId,
        amount: refund.amount,
      });
    }
  });
  return { outcome: 'sent' };
}

/**
 * The gateway refused the refund. Refused because the money is already back — someone cancelled it
 * at the gateway (its console, the card company) while this refund waited — it is this refund, made
 * there: `sent`. Otherwise it is given up (`failed`, an alarm). Which of the two is decided on the
 * gateway's balance against ours, and only while no other refund of the payment is in flight: one
 * executed but not recorded yet makes the balance look like a refund made at the gateway (the race
 * suite found 30,000 recorded as sent that way). Until then the refund is tried again.
 *
 * Either way the gateway's word is reported to the caller, to apply as its notice would be: what
 * it gave back beyond what our refunds explain (a notice that never came, or one applied while
 * this refund was in flight and so taken for it) is recorded then.
 */
async function settleRefusal(
  db: Db,
  refund: payments.RefundToSend,
  message: string,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
  maxAttempts: number,
): Promise<RefundResult> {
  // the gateway first, then our records: a refund of ours settled in between is counted as sent
  // while the balance may not show it yet, which only makes "made at the gateway" less likely
  let reported: GatewayPayment | undefined;
  try {
    reported = await (await gatewayFor(refund.provider)).fetch({
      paymentRef: refund.paymentRef,
      pgTid: refund.pgTid,
    });
  } catch {
    reported = undefined;
  }
  return inTx(db, async (tx): Promise<RefundResult> => {
    const ours = await payments.refundsBesides(tx, refund.paymentId, refund.id);
    if (!reported || ours.othersInFlight) {
      if (refund.attempts < maxAttempts) {
        await requestAgain(tx, refund, message);
        return { outcome: 'retry', error: message };
      }
      await giveUp(tx, refund, message);
      return { outcome: 'failed', error: message };
    }
    const balance = toCents(reported.amount) - toCents(reported.cancelledAmount);
    const madeAtTheGateway = balance <= toCents(ours.cancellable) - toCents(refund.amount);
    if (!madeAtTheGateway) {
      await giveUp(tx, refund, message);
      return {
        outcome: 'failed',
        error: message,
        reported: { provider: refund.provider, payment: reported },
      };
    }
    if (await payments.settleRefund(tx, refund.id, { status: 'sent' }))
      await recordEvent(tx, 'refund.sent', {
        refundId: refund.id,
        orderId: refund.orderId,
        amount: refund.amount,
        atGateway: true,
      });
    return { outcome: 'sent', reported: { provider: refund.provider, payment: reported } };
  });
}

async function requestAgain(tx: Tx, refund: payments.RefundToSend, error: string): Promise<void> {
  await payments.settleRefund(tx, refund.id, { status: 'requested', error });
}

async function giveUp(tx: Tx, refund: payments.RefundToSend, error: string): Promise<void> {
  if (await payments.settleRefund(tx, refund.id, { status: 'failed', error })) {
    await recordEvent(tx, 'refund.failed', { refundId: refund.id, orderId: refund.orderId, error });
  }
}
