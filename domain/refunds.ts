import { type Db, inTx, type Tx } from '../db/client';
import { recordEvent } from '../db/outbox';
import * as payments from '../db/payments';
import type { Provider } from '../db/vocabulary';
import { toCents } from './money';
import { type GatewayCancel, GatewayError, type GatewayPayment, type PaymentGateway } from './ports';

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
  return payments.insertRefund(tx, of, amount, 'made at the gateway');
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

/**
 * How a payment's cancellations at the gateway read against our refunds of it. A cancellation is
 * one of our refunds, executed, when it carries that refund's key, for its amount, and the refund
 * has been sent at least once — and only one cancellation can be a given refund. Anything else is
 * money the gateway gave back on its own, even with a key of ours in it: an operator may copy our
 * reason into a console cancel, and taken for the refund it would hide the money (or let the refund,
 * never sent, be sent on top of it). That money is recorded by our rows made at the gateway; what
 * they do not cover yet is `unrecordedCents` (negative when a stale report is read against newer
 * rows: nothing to record).
 */
export function attributeCancels(
  paymentRef: string,
  cancels: readonly GatewayCancel[],
  refunds: payments.RefundOfPayment[],
): { executed: payments.RefundOfPayment[]; unrecordedCents: number } {
  const byKey = new Map(refunds.map((r) => [refundIdempotencyKey({ id: r.id, paymentRef }), r]));
  const executed = new Set<payments.RefundOfPayment>();
  let atGatewayCents = 0;
  for (const cancel of cancels) {
    const refund = cancel.refundKey ? byKey.get(cancel.refundKey) : undefined;
    const isThatRefund =
      refund !== undefined &&
      !executed.has(refund) &&
      refund.attempts > 0 &&
      toCents(refund.amount) === toCents(cancel.amount);
    if (isThatRefund) executed.add(refund);
    else atGatewayCents += toCents(cancel.amount);
  }
  const recordedCents = refunds
    .filter((r) => r.status === 'sent' && r.madeAtGateway && !executed.has(r))
    .reduce((sum, r) => sum + toCents(r.amount), 0);
  return { executed: [...executed], unrecordedCents: atGatewayCents - recordedCents };
}

/** How many times the worker asks the gateway (each ask already retried by the adapter) before giving up. */
export const MAX_REFUND_ATTEMPTS = 5;

export type RefundOutcome =
  /** the gateway accepted it, or had given the money back already */
  | 'sent'
  /** given up: the gateway refused it, or stayed unavailable through every attempt */
  | 'failed'
  /** the gateway was unavailable; ask again later */
  | 'retry'
  /** nothing to send: already settled (a redelivered message) */
  | 'settled';

export interface RefundResult {
  outcome: RefundOutcome;
  error?: string;
  /**
   * What the gateway reported of the payment when the refund was refused (or, for a redelivered
   * message, settled by a refusal): for the caller to apply, as the gateway's notice would be.
   */
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
  if (!refund) return reportAgain(db, refundId, gatewayFor);
  try {
    const gateway = await gatewayFor(refund.provider);
    await gateway.cancel({
      paymentRef: refund.paymentRef,
      pgTid: refund.pgTid,
      amount: refund.amount,
      reason: `Refund ${refund.id} of order ${refund.orderId}`,
      idempotencyKey: refundIdempotencyKey(refund),
    });
  } catch (error) {
    const message =
      error instanceof GatewayError ? `${error.kind} ${error.gatewayCode}: ${error.message}` : String(error);
    // only the gateway's refusal is final: anything else (unavailable, a secret not readable now, a
    // network error outside the adapter) is tried again until the attempts run out
    const refused = error instanceof GatewayError && error.kind !== 'unavailable';
    if (refused) return settleRefusal(db, refund, message, gatewayFor, maxAttempts);
    return notNow(db, refund, message, maxAttempts);
  }
  await inTx(db, (tx) => settleSent(tx, refund, 'sent'));
  return { outcome: 'sent' };
}

/**
 * The gateway refused the refund. Its cancellations say why: one carrying this refund's key means
 * it executed after all (an earlier attempt whose answer was lost). Money the gateway gave back on
 * its own (its console, the card company) that none of our rows records yet, at least this
 * refund's amount, is this refund made there: sent, made at the gateway. Otherwise it is given up
 * (`failed`, an alarm). Other refunds of the payment in flight change nothing: what they give back
 * carries their keys.
 *
 * Whatever is decided, the gateway's word is reported to the caller, to apply as its notice would
 * be: what it gave back on its own beyond this refund (a notice that never came) is recorded then.
 */
async function settleRefusal(
  db: Db,
  refund: payments.RefundToSend,
  message: string,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
  maxAttempts: number,
): Promise<RefundResult> {
  let payment: GatewayPayment;
  try {
    payment = await (await gatewayFor(refund.provider)).fetch({
      paymentRef: refund.paymentRef,
      pgTid: refund.pgTid,
    });
  } catch (error) {
    if (error instanceof GatewayError && error.kind !== 'unavailable') {
      // the gateway refuses to say (it knows no such payment): asking again changes nothing
      await inTx(db, (tx) => giveUp(tx, refund, message));
      return { outcome: 'failed', error: message };
    }
    // without the gateway's word nothing can be decided: asked again while attempts remain
    return notNow(db, refund, message, maxAttempts);
  }
  const reported = { provider: refund.provider, payment };
  return inTx(db, async (tx): Promise<RefundResult> => {
    // the payment first, as a notice applying the gateway's word locks it before its refunds: the
    // two take turns, and the second sees what the first recorded (both would record the same
    // console money otherwise)
    await payments.lockPayment(tx, refund.paymentId);
    const refunds = await payments.lockedRefundsOf(tx, refund.paymentId);
    // settled meanwhile (the gateway's notice took it for a cancel made there)
    if (refunds.find((r) => r.id === refund.id)?.status !== 'requested')
      return { outcome: 'settled', reported };
    const { executed, unrecordedCents } = attributeCancels(refund.paymentRef, payment.cancels, refunds);
    if (executed.some((r) => r.id === refund.id)) {
      await settleSent(tx, refund, 'sent');
      return { outcome: 'sent', reported };
    }
    if (unrecordedCents >= toCents(refund.amount)) {
      await settleSent(tx, refund, 'made at the gateway');
      return { outcome: 'sent', reported };
    }
    await giveUp(tx, refund, message);
    return { outcome: 'failed', error: message, reported };
  });
}

/**
 * A message for a refund no longer requested (redelivered, or sent after a worker stopped). Settled
 * by a refusal — made at the gateway, or failed — the gateway's word may never have been applied
 * (the worker that decided stopped before applying it): it is fetched and reported again. Applying
 * it twice records nothing twice: what our rows account for is never recorded again.
 */
async function reportAgain(
  db: Db,
  refundId: number,
  gatewayFor: (provider: Provider) => Promise<PaymentGateway>,
): Promise<RefundResult> {
  const refund = await payments.refundState(db, refundId);
  if (!refund || refund.status === 'requested' || (refund.status === 'sent' && !refund.madeAtGateway))
    return { outcome: 'settled' };
  try {
    const payment = await (await gatewayFor(refund.provider)).fetch(refund);
    return { outcome: 'settled', reported: { provider: refund.provider, payment } };
  } catch (error) {
    // the word is still to be applied: the message comes back later
    return { outcome: 'retry', error: String(error) };
  }
}

/** No answer to decide on: asked again while attempts remain, then given up on. */
async function notNow(
  db: Db,
  refund: payments.RefundToSend,
  message: string,
  maxAttempts: number,
): Promise<RefundResult> {
  const retry = refund.attempts < maxAttempts;
  await inTx(db, (tx) => (retry ? requestAgain(tx, refund, message) : giveUp(tx, refund, message)));
  return { outcome: retry ? 'retry' : 'failed', error: message };
}

async function settleSent(
  tx: Tx,
  refund: payments.RefundToSend,
  how: 'sent' | 'made at the gateway',
): Promise<void> {
  if (await payments.settleRefund(tx, refund.id, { status: how })) {
    await recordEvent(tx, 'refund.sent', {
      refundId: refund.id,
      orderId: refund.orderId,
      amount: refund.amount,
      ...(how === 'made at the gateway' ? { atGateway: true } : {}),
    });
  }
}

async function requestAgain(tx: Tx, refund: payments.RefundToSend, error: string): Promise<void> {
  await payments.settleRefund(tx, refund.id, { status: 'requested', error });
}

async function giveUp(tx: Tx, refund: payments.RefundToSend, error: string): Promise<void> {
  if (await payments.settleRefund(tx, refund.id, { status: 'failed', error })) {
    await recordEvent(tx, 'refund.failed', { refundId: refund.id, orderId: refund.orderId, error });
  }
}
