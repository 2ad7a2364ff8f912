import {
  type Payment,
  type PaymentCancellation,
  PaymentClient,
  PaymentError,
} from '@portone/server-sdk/payment';
import { verify, WebhookVerificationError } from '@portone/server-sdk/webhook';
import * as z from 'zod/mini';
import { AppError, parseWith } from '../../../domain/errors';
import { toCents } from '../../../domain/money';
import { GatewayError, type GatewayPayment, type PaymentGateway } from '../../../domain/ports';
import { refundKeyIn } from '../../../domain/refunds';
import type { PgAdapter } from '../pg-webhooks';
import { withRetries } from './http';

export interface PortOneOptions {
  /** PortOne's API origin (https://api.portone.io; locally the simulator's origin). */
  apiBase: string;
  apiSecret: string;
  storeId: string;
  channelKey: string;
  timeoutMs: number;
}

const GATEWAY = 'PortOne';

/**
 * PortOne's error types that answer the request itself (its 4xx: bad input, bad secret, unknown or
 * unpaid payment, an amount that does not fit): retrying the same call cannot help, an operator
 * looks. Any other type (PG_PROVIDER, PortOne's 502, or a type this SDK does not know) is
 * `unavailable`: the SDK does not expose the HTTP status, and a retry is safe because every cancel
 * carries `currentCancellableAmount`.
 */
const REJECTED_TYPES = new Set([
  'INVALID_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'PAYMENT_NOT_FOUND',
  'PAYMENT_NOT_PAID',
  'PAYMENT_ALREADY_CANCELLED',
  'CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN',
  'CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT',
  'CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT',
  'CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT',
  'SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT',
  'NEGATIVE_PROMOTION_ADJUSTED_CANCEL_AMOUNT',
  'PROMOTION_DISCOUNT_RETAIN_OPTION_SHOULD_NOT_BE_CHANGED',
  'MAX_CANCEL_COUNT_REACHED',
]);

/**
 * PortOne V2 through @portone/server-sdk. PortOne has nothing to capture: the payment window
 * charges, and the server only reads (`getPayment`) and gives back (`cancelPayment`).
 *
 * PortOne's V2 API takes no Idempotency-Key. A cancel is made safe to retry by its
 * `currentCancellableAmount` (PortOne cancels only while the balance is still what we saw, so a
 * second copy of an executed cancel is refused) and by our idempotency key in the cancellation's
 * `reason`, which PortOne keeps on the payment: a refused copy is resolved by finding it there.
 */
export function portoneGateway(options: PortOneOptions): PaymentGateway {
  const origin = new URL(options.apiBase);
  // The SDK resolves its paths from the origin ("/payments/…"), so a path would be silently dropped.
  if (origin.pathname.replace(/\/+$/, '') !== '')
    throw new Error(`PORTONE_API_BASE must be an origin without a path, got ${options.apiBase}`);
  const client = PaymentClient({
    secret: options.apiSecret,
    baseUrl: origin.origin,
    storeId: options.storeId,
  });

  /** One SDK call under our deadline, its failures in GatewayError terms, retried while unavailable. */
  const call = <T>(what: string, sdkCall: () => Promise<T>): Promise<T> =>
    withRetries(() => withDeadline(sdkCall(), options.timeoutMs, what).catch(rethrowAsGatewayError));

  const readPayment = (paymentRef: string) =>
    call(`GET payment ${paymentRef}`, () =>
      client.getPayment({ paymentId: paymentRef, storeId: options.storeId }),
    );
  const getPayment = async (paymentRef: string) =>
    toGatewayPayment(paymentRef, await readPayment(paymentRef));

  return {
    checkout(request) {
      return {
        storeId: options.storeId,
        channelKey: options.channelKey,
        paymentId: request.paymentRef,
        orderName: request.orderName,
        totalAmount: won(request.amount),
        currency: 'KRW',
      };
    },

    // Whether the amount is the one asked for is the domain's judgement: this says what PortOne says.
    confirm: (request) => getPayment(request.paymentRef),

    fetch: (ref) => getPayment(ref.paymentRef),

    async cancel(request) {
      const marker = keyMarker(request.idempotencyKey);
      const amount = won(request.amount);
      /** This refund's cancellation if PortOne already made it (an earlier copy whose answer was lost). */
      const alreadyDone = (payment: Payment) => {
        for (const earlier of cancellationsOf(payment)) {
          const cancelledAt = givenBackAt(earlier);
          if (cancelledAt && 'reason' in earlier && earlier.reason.includes(marker)) return { cancelledAt };
        }
        return undefined;
      };
      const before = await readPayment(request.paymentRef);
      const done = alreadyDone(before);
      if (done) return done;
      // PortOne's own balance, not ours: what it charged can differ from what we asked (a wrong
      // amount), and other refunds of the payment may be executed but not yet recorded by us
      const currentCancellableAmount = cancellableOf(before);
      try {
        const { cancellation } = await call(`cancel payment ${request.paymentRef}`, () =>
          client.cancelPayment({
            paymentId: request.paymentRef,
            amount,
            reason: `${request.reason} ${marker}`,
            currentCancellableAmount,
          }),
        );
        const cancelledAt = givenBackAt(cancellation);
        if (cancelledAt) return { cancelledAt };
        const status = String(cancellation.status);
        throw new GatewayError(
          'rejected',
          `CANCELLATION_${status}`,
          `${GATEWAY} did not cancel payment ${request.paymentRef} (cancellation ${status})`,
        );
      } catch (error) {
        if (
          error instanceof GatewayError &&
          (error.gatewayCode === 'CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN' ||
            error.gatewayCode === 'PAYMENT_ALREADY_CANCELLED')
        ) {
          // Refused because the balance moved since we read it: by this very cancel (a copy still
          // running), or by another refund of the payment at the same moment — then ask again later.
          const after = alreadyDone(await readPayment(request.paymentRef));
          if (after) return after;
          if (error.gatewayCode === 'CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN')
            throw new GatewayError('unavailable', error.gatewayCode, error.message);
        }
        throw error;
      }
    },
  };
}

/** What PortOne would still give back (whole won). */
function cancellableOf(payment: Payment): number | undefined {
  if (!('amount' in payment) || !payment.amount) return undefined;
  return payment.amount.total - payment.amount.cancelled;
}

/** PortOne's payment union in our terms. Amounts are integer won; ours are decimal strings. */
function toGatewayPayment(paymentRef: string, payment: Payment): GatewayPayment {
  // the buyer's browser chose the currency in requestPayment: it is reported, never assumed
  const base = {
    paymentRef,
    cancelledAmount: '0.00',
    cancels: [],
    approvedAt: null,
    ...('currency' in payment ? { currency: String(payment.currency) } : {}),
  } as const;
  switch (payment.status) {
    case 'PAID':
      return {
        ...base,
        status: 'paid',
        pgTid: payment.transactionId ?? payment.pgTxId ?? null,
        amount: decimal(payment.amount.total),
        approvedAt: payment.paidAt,
      };
    // what is left is still paid for; the cancelled part is in cancelledAmount
    case 'PARTIAL_CANCELLED':
    case 'CANCELLED':
      return {
        ...base,
        status: payment.status === 'CANCELLED' ? 'cancelled' : 'paid',
        pgTid: payment.transactionId ?? payment.pgTxId ?? null,
        amount: decimal(payment.amount.total),
        cancelledAmount: decimal(payment.amount.cancelled),
        // each cancellation that gave money back, ours by the key our cancel put in its reason
        cancels: cancellationsOf(payment).flatMap((c) =>
          givenBackAt(c) && 'totalAmount' in c
            ? [{ amount: decimal(c.totalAmount), refundKey: refundKeyIn(c.reason) }]
            : [],
        ),
        approvedAt: payment.paidAt ?? null,
      };
    case 'FAILED':
      return {
        ...base,
        status: 'failed',
        pgTid: payment.transactionId ?? null,
        amount: decimal(payment.amount.total),
        failure: {
          code: payment.failure.pgCode ?? 'PAYMENT_FAILED',
          message: payment.failure.pgMessage ?? payment.failure.reason ?? 'The payment failed',
        },
      };
    case 'READY':
    case 'PAY_PENDING':
    case 'VIRTUAL_ACCOUNT_ISSUED':
      return {
        ...base,
        status: 'pending',
        pgTid: payment.transactionId ?? null,
        amount: decimal(payment.amount.total),
      };
    default:
      // A status newer than this SDK: it may be money taken, so it is not waved through as pending.
      throw new GatewayError(
        'rejected',
        'UNRECOGNIZED_PAYMENT_STATUS',
        `${GATEWAY} reported payment ${paymentRef} in status ${String(payment.status)}, unknown to this adapter`,
      );
  }
}

function cancellationsOf(payment: Payment) {
  if (payment.status === 'PAID') return payment.cancellations ?? [];
  if (payment.status === 'CANCELLED' || payment.status === 'PARTIAL_CANCELLED') return payment.cancellations;
  return [];
}

/** Whole won as our decimal string ("15000.00"). */
const decimal = (won: number) => won.toFixed(2);

/**
 * When a cancellation gave (or, REQUESTED, is giving: virtual accounts refund later) the money back;
 * null for a failed one, which left the balance as it was.
 */
function givenBackAt(cancellation: PaymentCancellation): string | null {
  if (cancellation.status === 'SUCCEEDED' || cancellation.status === 'REQUESTED')
    return cancellation.cancelledAt ?? cancellation.requestedAt;
  return null;
}

/** How a refund's idempotency key shows in the reason PortOne keeps with its cancellation. */
const keyMarker = (idempotencyKey: string) => `[refund ${idempotencyKey}]`;

/** KRW has no minor unit: PortOne takes whole won. */
function won(amount: string): number {
  const cents = toCents(amount);
  if (!Number.isFinite(cents) || cents % 100 !== 0)
    throw new GatewayError('rejected', 'INVALID_AMOUNT', `${amount} is not a whole number of won`);
  return cents / 100;
}

/**
 * The SDK (0.19.0) calls the global fetch without a signal, so a hung call cannot be aborted: the
 * deadline gives up waiting and reports `unavailable`; the abandoned request finishes on its own
 * (a cancel it still executes is recognised by the next attempt, see `cancel`).
 */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatewayError('unavailable', 'TIMEOUT', `${GATEWAY} did not answer ${what} within ${ms} ms`),
        ),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function rethrowAsGatewayError(error: unknown): never {
  if (error instanceof GatewayError) throw error;
  if (error instanceof PaymentError) {
    const type = String((error.data as { type?: unknown }).type ?? 'UNKNOWN');
    const message = `${GATEWAY} answered ${type}${error.message ? `: ${error.message}` : ''}`;
    throw new GatewayError(REJECTED_TYPES.has(type) ? 'rejected' : 'unavailable', type, message);
  }
  // fetch failed (network), or an error answer that was not JSON (the SDK parses every error body)
  throw new GatewayError(
    'unavailable',
    error instanceof SyntaxError ? 'MALFORMED_RESPONSE' : 'NETWORK_ERROR',
    `${GATEWAY} could not be reached or answered garbage: ${(error as Error).message}`,
  );
}

/** What we read of a PortOne webhook body (2024-04-25 format); other fields are ignored. */
const PortOneWebhook = z.object({
  type: z.string().check(z.startsWith('Transaction.')),
  timestamp: z.string(),
  data: z.object({
    paymentId: z.string().check(z.minLength(1)),
    storeId: z.optional(z.string()),
    transactionId: z.optional(z.string()),
  }),
});

/**
 * PortOne's Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature): verified by the
 * SDK (HMAC-SHA256 with the `whsec_…` base64 secret, 5 minutes of tolerance), then reduced to which
 * payment to fetch: the body is never applied as it stands. `now` is unused: the SDK reads the clock.
 */
export function portoneWebhooks(webhookSecret: string): PgAdapter {
  return {
    async verify(headers, rawBody) {
      let body: unknown;
      try {
        body = await verify(webhookSecret, rawBody, headers);
      } catch (error) {
        if (error instanceof WebhookVerificationError)
          throw new AppError('INVALID_SIGNATURE', `PortOne webhook refused: ${error.reason}`);
        // signed, but not JSON (the SDK parses after checking the signature)
        if (error instanceof SyntaxError)
          throw new AppError('VALIDATION_FAILED', 'The body is not valid JSON');
        throw error; // InvalidInputError: our secret is not base64, a configuration fault (500)
      }
      const webhook = parseWith(PortOneWebhook, body, 'body');
      return {
        kind: 'lookup',
        lookup: {
          notificationId: String(headers['webhook-id']),
          paymentRef: webhook.data.paymentId,
          pgTid: webhook.data.transactionId ?? null,
        },
      };
    },
  };
}
