import type { Provider } from '../db/vocabulary';
import type { PaymentEvent } from './payments';

/**
 * The two AWS services the domain talks to, as small ports. AWS adapters live in
 * functions/adapters/, local stand-ins in local/.
 */
/**
 * What the webhook receiver puts on the payment-event queue: either an event in the built-in signed
 * format (its signature makes the body the gateway's word), or — for gateways whose webhooks only
 * name a payment (Toss, PortOne) — a lookup: the processor fetches the payment and applies that.
 */
export type QueuedPaymentEvent =
  | { provider: Provider; event: PaymentEvent; receivedAt: string }
  | { provider: Provider; lookup: PaymentLookup; receivedAt: string };

/** A gateway's notification that a payment changed, without the change: only where to look. */
export interface PaymentLookup extends PaymentRef {
  /** The gateway's id of the notification (for logs; outcomes are deduplicated on the payment's state). */
  notificationId: string;
}

export interface PaymentEventQueue {
  send(message: QueuedPaymentEvent): Promise<void>;
}

export interface DomainEvent {
  id: number;
  detailType: string;
  detail: Record<string, unknown>;
  createdAt: Date;
}

export interface EventPublisher {
  /** Publishes events; returns the ids of those that failed (they stay in the outbox). */
  publish(events: DomainEvent[]): Promise<number[]>;
}

/**
 * A payment gateway's own API (Toss Payments, PortOne V2, the built-in one), behind one port. The
 * domain never believes a webhook body the gateway can be asked about: it asks through `fetch` and
 * applies what the gateway answers. Adapters live in functions/adapters/gateways/, one per gateway,
 * written against its published API; the local simulator (local/pg-simulator/) speaks the same.
 */
export interface PaymentGateway {
  /** What the provider's browser SDK needs to open its payment window (API.md, "Payment gateways"). */
  checkout(request: CheckoutRequest): Record<string, unknown>;
  /**
   * After the buyer's redirect: Toss captures the authorised payment (its confirm API); PortOne has
   * nothing to capture and fetches it. Throws `GatewayError` ('declined' with the gateway's code).
   */
  confirm(request: ConfirmRequest): Promise<GatewayPayment>;
  /** The payment as the gateway knows it now. */
  fetch(ref: PaymentRef): Promise<GatewayPayment>;
  /**
   * Gives `amount` back. The same `idempotencyKey` never refunds twice, however often it is sent
   * (a lost answer is retried with it). Throws `GatewayError`.
   */
  cancel(request: CancelRequest): Promise<{ cancelledAt: string }>;
}

/** Which payment: our public id (Toss's orderId, PortOne's paymentId) and the gateway's key if known. */
export interface PaymentRef {
  paymentRef: string;
  /** Toss's paymentKey, PortOne's transaction id; null before the gateway has assigned one. */
  pgTid?: string | null;
}

export interface CheckoutRequest {
  /** Our id of the payment (the built-in format's `paymentId`). */
  paymentId: number;
  paymentRef: string;
  amount: string;
  orderName: string;
  /** A stable, opaque id of the buyer (Toss's customerKey). */
  customerKey: string;
}

export interface ConfirmRequest extends PaymentRef {
  /** The amount the client says it was asked for; the adapter sends it, the gateway checks it. */
  amount: string;
}

export interface CancelRequest extends PaymentRef {
  amount: string;
  reason: string;
  idempotencyKey: string;
}

/** What a gateway says about one payment: the only account of a payment the domain applies. */
export interface GatewayPayment {
  paymentRef: string;
  pgTid: string | null;
  /** `pending`: not paid yet (window open, virtual account waiting); nothing to apply. */
  status: 'pending' | 'paid' | 'failed' | 'cancelled';
  /** The payment's total, decimal string. */
  amount: string;
  /** ISO 4217, when the gateway reports one (PortOne); everything here is sold in KRW. */
  currency?: string;
  /** Everything cancelled at the gateway so far (ours and the merchant console's), decimal string. */
  cancelledAmount: string;
  /** Each cancellation that gave money back (or is giving it: a virtual account's), oldest first. */
  cancels: readonly GatewayCancel[];
  /** ISO 8601, when paid. */
  approvedAt: string | null;
  failure?: { code: string; message: string };
}

/** One cancellation the gateway reports: whose it is decides who recorded its money. */
export interface GatewayCancel {
  /** Decimal string. */
  amount: string;
  /**
   * Our refund's idempotency key (refundIdempotencyKey) when the cancellation carries it: that
   * refund executed. Null: made at the gateway on its own (its console, the card company).
   */
  refundKey: string | null;
}

/**
 * A gateway call that did not give an answer to apply. `declined`: the gateway refused the payment
 * (card declined, balance short): final, the seats go back. `unavailable`: timeouts, 5xx and rate
 * limits, still failing after the adapter's retries: nothing is known, try later. `rejected`: the
 * gateway refused the request itself (bad key, unknown payment, not cancellable): an operator looks.
 */
export class GatewayError extends Error {
  constructor(
    readonly kind: 'declined' | 'unavailable' | 'rejected',
    /** The gateway's own code (Toss's `code`, PortOne's error `type`). */
    readonly gatewayCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}
