import * as z from 'zod/mini';
import { parseJson, parseWith } from '../../../domain/errors';
import { fromCents, toCents } from '../../../domain/money';
import {
  type CheckoutRequest,
  GatewayError,
  type GatewayPayment,
  type PaymentGateway,
  type PaymentRef,
} from '../../../domain/ports';
import { refundKeyIn } from '../../../domain/refunds';
import type { PgAdapter } from '../pg-webhooks';
import { callGateway, type GatewayResponse, withRetries } from './http';

export interface TossOptions {
  apiBase: string;
  clientKey: string;
  secretKey: string;
  timeoutMs: number;
}

const GATEWAY = 'Toss Payments';

/**
 * Confirm errors that mean the buyer's payment was refused (Toss's error-code reference, "결제 승인"):
 * the card, account or issuer said no, a limit was hit, fraud detection stopped it. Final for this
 * payment: the seats go back and the buyer may pay again.
 */
const DECLINE_CODES = new Set([
  'REJECT_CARD_PAYMENT',
  'REJECT_CARD_COMPANY',
  'REJECT_ACCOUNT_PAYMENT',
  'REJECT_TOSSPAY_INVALID_ACCOUNT',
  'INVALID_REJECT_CARD',
  'INVALID_STOPPED_CARD',
  'INVALID_CARD_EXPIRATION',
  'INVALID_CARD_LOST_OR_STOLEN',
  'INVALID_CARD_NUMBER',
  'INVALID_PASSWORD',
  'INVALID_ACCOUNT_INFO_RE_REGISTER',
  'RESTRICTED_TRANSFER_ACCOUNT',
  'EXCEED_MAX_DAILY_PAYMENT_COUNT',
  'EXCEED_MAX_PAYMENT_AMOUNT',
  'EXCEED_MAX_AMOUNT',
  'EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT',
  'EXCEED_MAX_ONE_DAY_AMOUNT',
  'EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT',
  'EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT',
  'EXCEED_MAX_AUTH_COUNT',
  'EXCEED_MAX_CARD_INSTALLMENT_PLAN',
  'INVALID_CARD_INSTALLMENT_PLAN',
  'NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT',
  'NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN',
  'NOT_ALLOWED_POINT_USE',
  'NOT_AVAILABLE_PAYMENT',
  'NOT_AVAILABLE_BANK',
  'CARD_PROCESSING_ERROR',
  'FDS_ERROR',
  'PAY_PROCESS_CANCELED',
  'PAY_PROCESS_ABORTED',
]);

/**
 * Answers in 4xx clothing that say "not now" rather than "no": Toss asks for a retry
 * (PROVIDER_ERROR, a same-key request still running, too many requests in a row). The 5xx codes
 * (FAILED_INTERNAL_SYSTEM_PROCESSING, COMMON_ERROR…) are `unavailable` by their status already.
 */
const TRANSIENT_CODES = new Set([
  'PROVIDER_ERROR',
  'IDEMPOTENT_REQUEST_PROCESSING',
  'FORBIDDEN_CONSECUTIVE_REQUEST',
]);

/** Toss's Payment object: only the fields we read; everything else is ignored. */
const TossPayment = z.object({
  paymentKey: z.string().check(z.minLength(1)),
  orderId: z.string().check(z.minLength(1)),
  status: z.string(),
  totalAmount: z.number(),
  balanceAmount: z.number(),
  approvedAt: z.nullish(z.string()),
  cancels: z.nullish(
    z.array(
      z.object({
        cancelAmount: z.number(),
        canceledAt: z.string(),
        cancelReason: z.nullish(z.string()),
        cancelStatus: z.nullish(z.string()),
      }),
    ),
  ),
  failure: z.nullish(z.object({ code: z.string(), message: z.optional(z.string()) })),
});
type TossPayment = z.output<typeof TossPayment>;

const TossError = z.object({ code: z.string(), message: z.optional(z.string()) });

const STATUS: Record<string, GatewayPayment['status']> = {
  READY: 'pending',
  IN_PROGRESS: 'pending',
  WAITING_FOR_DEPOSIT: 'pending',
  DONE: 'paid',
  // what is left is still paid for; the cancelled part is in cancelledAmount
  PARTIAL_CANCELED: 'paid',
  CANCELED: 'cancelled',
  ABORTED: 'failed',
  EXPIRED: 'failed',
};

/**
 * Toss Payments API v1: Basic auth with the secret key, JSON, amounts as integer won. Every call
 * goes through callGateway (deadline; timeouts, 5xx and 429 are `unavailable`) inside withRetries.
 */
export function tossGateway(options: TossOptions): PaymentGateway {
  const authorization = `Basic ${Buffer.from(`${options.secretKey}:`).toString('base64')}`;
  const base = options.apiBase.replace(/\/+$/, '');

  /** One Toss call, retried while unavailable; a 2xx body comes back, an error as its `{ code, message }`. */
  const call = (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ ok: true; body: unknown } | { ok: false; status: number; code: string; message: string }> =>
    withRetries(async () => {
      const response: GatewayResponse = await callGateway(
        `${base}${path}`,
        {
          method,
          headers: {
            authorization,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs: options.timeoutMs,
        },
        GATEWAY,
      );
      if (response.status >= 200 && response.status < 300) return { ok: true as const, body: response.body };
      const error = TossError.safeParse(response.body);
      const code = error.success ? error.data.code : `HTTP_${response.status}`;
      const message = `${GATEWAY} answered ${response.status} ${code}${error.success && error.data.message ? `: ${error.data.message}` : ''}`;
      if (TRANSIENT_CODES.has(code)) throw new GatewayError('unavailable', code, message);
      return { ok: false as const, status: response.status, code, message };
    });

  /** The payment named by `ref`, as Toss has it now; never someone else's (its orderId must be ours). */
  async function fetchPayment(ref: PaymentRef): Promise<TossPayment> {
    const path = ref.pgTid
      ? `/v1/payments/${encodeURIComponent(ref.pgTid)}`
      : `/v1/payments/orders/${encodeURIComponent(ref.paymentRef)}`;
    const answer = await call('GET', path);
    if (!answer.ok) throw new GatewayError('rejected', answer.code, answer.message);
    return ours(readPayment(answer.body), ref.paymentRef);
  }

  return {
    checkout(request: CheckoutRequest) {
      return {
        clientKey: options.clientKey,
        orderId: request.paymentRef,
        orderName: request.orderName,
        amount: toWon(request.amount),
        customerKey: request.customerKey,
      };
    },

    async confirm({ paymentRef, pgTid, amount }) {
      if (!pgTid)
        throw new GatewayError('rejected', 'INVALID_REQUEST', 'Toss confirms by paymentKey: none given');
      const answer = await call('POST', '/v1/payments/confirm', {
        paymentKey: pgTid,
        orderId: paymentRef,
        amount: toWon(amount),
      });
      if (answer.ok) return toGatewayPayment(ours(readPayment(answer.body), paymentRef));
      // an earlier confirm went through (its answer lost, or the webhook's fetch raced us): ask Toss
      if (answer.code === 'ALREADY_PROCESSED_PAYMENT')
        return toGatewayPayment(await fetchPayment({ paymentRef, pgTid }));
      if (DECLINE_CODES.has(answer.code)) throw new GatewayError('declined', answer.code, answer.message);
      throw new GatewayError('rejected', answer.code, answer.message);
    },

    async fetch(ref) {
      return toGatewayPayment(await fetchPayment(ref));
    },

    async cancel({ paymentRef, pgTid, amount, reason, idempotencyKey }) {
      const cancelAmount = toWon(amount);
      if (idempotencyKey.length > 300)
        throw new GatewayError(
          'rejected',
          'INVALID_IDEMPOTENCY_KEY',
          'Toss takes idempotency keys of at most 300 characters',
        );
      // a payment known only by our id: Toss cancels by paymentKey, so look it up first
      const paymentKey = pgTid || (await fetchPayment({ paymentRef })).paymentKey;
      // The same key on every retry: Toss answers a repeat with the first answer, never cancelling
      // twice. The key goes in the reason too: Toss keeps the reason with the cancellation (and not
      // the key), so the payment shows which cancellation is which refund of ours. A refusal
      // (ALREADY_CANCELED_PAYMENT included: cancelled in Toss's console, or by another refund) is
      // the domain's to read against those cancellations.
      const answer = await call(
        'POST',
        `/v1/payments/${encodeURIComponent(paymentKey)}/cancel`,
        { cancelReason: `${reason} [${idempotencyKey}]`, cancelAmount },
        { 'idempotency-key': idempotencyKey },
      );
      if (!answer.ok) throw new GatewayError('rejected', answer.code, answer.message);
      const payment = ours(readPayment(answer.body), paymentRef);
      return { cancelledAt: lastCancelAt(payment) ?? new Date().toISOString() };
    },
  };
}

/**
 * Our money is a decimal string with two places; Toss's is integer won. A fraction of a won cannot
 * be charged or refunded, so it is refused rather than rounded (rounding would move money nobody
 * asked for).
 */
function toWon(amount: string): number {
  const cents = toCents(amount);
  if (!Number.isSafeInteger(cents) || cents <= 0 || cents % 100 !== 0)
    throw new GatewayError(
      'rejected',
      'INVALID_REQUEST',
      `Toss takes whole won: ${amount} is not a positive whole amount`,
    );
  return cents / 100;
}

const fromWon = (won: number): string => fromCents(won * 100);

function readPayment(body: unknown): TossPayment {
  const parsed = TossPayment.safeParse(body);
  if (!parsed.success)
    throw new GatewayError(
      'rejected',
      'MALFORMED_RESPONSE',
      `${GATEWAY} answered with something that is not a Payment`,
    );
  return parsed.data;
}

/** A paymentKey names one payment; if it is not the one for our orderId, it is not ours to apply. */
function ours(payment: TossPayment, paymentRef: string): TossPayment {
  if (payment.orderId !== paymentRef)
    throw new GatewayError(
      'rejected',
      'ORDER_ID_MISMATCH',
      `${GATEWAY} payment ${payment.paymentKey} belongs to order ${payment.orderId}, not ${paymentRef}`,
    );
  return payment;
}

function toGatewayPayment(payment: TossPayment): GatewayPayment {
  const status = STATUS[payment.status];
  if (!status)
    throw new GatewayError(
      'rejected',
      'UNKNOWN_STATUS',
      `${GATEWAY} payment status ${payment.status} is unknown`,
    );
  return {
    paymentRef: payment.orderId,
    pgTid: payment.paymentKey,
    status,
    amount: fromWon(payment.totalAmount),
    cancelledAmount: fromWon(payment.totalAmount - payment.balanceAmount),
    // a cancellation not DONE (Toss names no other state, but may) gave nothing back
    cancels: (payment.cancels ?? [])
      .filter((c) => (c.cancelStatus ?? 'DONE') === 'DONE')
      .map((c) => ({ amount: fromWon(c.cancelAmount), refundKey: refundKeyIn(c.cancelReason) })),
    approvedAt: payment.approvedAt ? new Date(payment.approvedAt).toISOString() : null,
    ...(status === 'failed' && payment.failure
      ? { failure: { code: payment.failure.code, message: payment.failure.message ?? payment.failure.code } }
      : {}),
  };
}

function lastCancelAt(payment: TossPayment): string | undefined {
  const at = payment.cancels?.at(-1)?.canceledAt;
  return at ? new Date(at).toISOString() : undefined;
}

/**
 * Toss's PAYMENT_STATUS_CHANGED body: `{ eventType, createdAt, data: <Payment> }`. It is unsigned,
 * so nothing in it is believed beyond which payment to fetch. Other event types are refused (400):
 * only PAYMENT_STATUS_CHANGED is registered, and Toss sends it for every method (virtual accounts
 * included), so DEPOSIT_CALLBACK would only repeat it — a 400 makes a wrong registration visible
 * in Toss's failed-delivery mail instead of doubling the fetches quietly.
 */
const TossWebhook = z.object({
  eventType: z.literal('PAYMENT_STATUS_CHANGED'),
  createdAt: z.string().check(z.minLength(1), z.maxLength(64)),
  data: z.object({
    paymentKey: z.string().check(z.minLength(1), z.maxLength(200)),
    orderId: z.string().check(z.regex(/^[A-Za-z0-9_-]{6,64}$/)),
    status: z.string().check(z.minLength(1), z.maxLength(40)),
  }),
});

/** Toss's PAYMENT_STATUS_CHANGED webhook: unsigned, so it only names the payment to fetch. */
export function tossWebhooks(): PgAdapter {
  return {
    async verify(_headers, rawBody) {
      const { createdAt, data } = parseWith(TossWebhook, parseJson(rawBody), 'body');
      return {
        kind: 'lookup',
        lookup: {
          // Toss gives notifications no id; this one is stable across its redeliveries
          notificationId: `${data.paymentKey}:${data.status}:${createdAt}`,
          paymentRef: data.orderId,
          pgTid: data.paymentKey,
        },
      };
    },
  };
}
