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
): Promise<{
  outcome: RefundOutcome;
  error?: string;
  reported?: { provider: Provider; payment: GatewayPayment };
}> {
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
    const atGateway = refused ? await madeAtTheGateway(refund, gatewayFor) : undefined;
    if (atGateway) {
      // Refused because the money is already back: someone cancelled it at the gateway (its
      // console, the card company) while this refund waited. That is this refund, made there.
      await inTx(db, async (tx) => {
        if (await payments.settleRefund(tx, refund.id, { status: 'sent' }))
          await recordEvent(tx, 'refund.sent', {
            refundId: refund.id,
            orderId: refund.orderId,
            amount: refund.amount,
            atGateway: true,
          });
      });
      // the gateway gave back more than this refund explains, and its notice never reached us:
      // the caller applies what it says (applyGatewayPayment), as a notice would have
      return { outcome: 'sent', reported: { provider: refund.provider, payment: atGateway } };
    }
    const retry = !refused && refund.attempts < maxAttempts;
    await inTx(db, async (tx) => {
      if (retry) return payments.settleRefund(tx, refund.id, { status: 'requested', error: message });
      if (await payments.settleRefund(tx, refund.id, { status: 'failed', error: message })) {
        await recordEvent(tx, 'refund.failed', {
          refundId: refund.id,
          orderId: refund.orderId,
          error: message,
        });
      }
      return true;
    });
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
 * The payment as the gateway reports it, if it has given back at least this refund beyond what we
 * know was sent (its remaining balance is no more than ours would be after this refund).
 */
async function madeAtTheGateway(
  refund: payments.RefundToSend,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
): Promise<GatewayPayment | undefined> {
  try {
    const reported = await (await gatewayFor(refund.provider)).fetch({
      paymentRef: refund.paymentRef,
      pgTid: refund.pgTid,
    });
    const balance = toCents(reported.amount) - toCents(reported.cancelledAmount);
    return balance <= toCents(refund.cancellable) - toCents(refund.amount) ? reported : undefined;
  } catch {
    return undefined;
  }
}
