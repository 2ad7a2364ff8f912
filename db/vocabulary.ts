/**
 * Every status and provider name the service stores, declared once. The zod contract
 * (functions/schemas.ts) and the TypeScript types are built from these tuples; the CHECK
 * constraints in db/migrations spell the same lists, and db/vocabulary.pg.test.ts fails when the
 * two drift. They sit in db/, the lowest layer, because the row types here need them too.
 */

export const SCHEDULE_STATUSES = ['sales_open', 'closed', 'cancelled'] as const;
export type ScheduleStatus = (typeof SCHEDULE_STATUSES)[number];

/** A seat of one performance (schedule_seats). */
export const SEAT_STATUSES = ['available', 'held', 'pending_payment', 'booked', 'cancelled'] as const;
export type SeatStatus = (typeof SEAT_STATUSES)[number];

export const ORDER_STATUSES = ['created', 'awaiting_payment', 'paid', 'cancelled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const CANCEL_REASONS = ['customer', 'expired', 'payment_failed', 'schedule_cancelled'] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export const ORDER_ITEM_STATUSES = ['held', 'booked', 'cancelled'] as const;
export type OrderItemStatus = (typeof ORDER_ITEM_STATUSES)[number];

export const PAYMENT_STATUSES = ['initiated', 'success', 'fail', 'refund'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** The PGs (payment gateways) the service takes money from. */
export const PROVIDERS = ['card', 'kakao', 'naver', 'toss', 'portone'] as const;

/** The providers that speak the built-in signed webhook format (API.md); the others have their own protocol. */
export const SIGNED_PROVIDERS = ['card', 'kakao', 'naver'] as const satisfies readonly Provider[];

export type Provider = (typeof PROVIDERS)[number];
export type SignedProvider = (typeof SIGNED_PROVIDERS)[number];

/** A refund row's journey to the PG: recorded, accepted by the PG's cancel API, or given up on. */
export const REFUND_STATUSES = ['requested', 'sent', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A wait-list entry (API.md "Second chances"): waiting, then offered, then what became of the offer. */
export const WAITLIST_STATUSES = [
  'waiting',
  'offered',
  'accepted',
  'lapsed',
  'declined',
  'left',
  'closed',
] as const;
export type WaitlistStatus = (typeof WAITLIST_STATUSES)[number];

/** What a PG's webhook may tell us about a payment. */
export const PAYMENT_EVENT_TYPES = ['payment.succeeded', 'payment.failed', 'payment.cancelled'] as const;
export type PaymentEventType = (typeof PAYMENT_EVENT_TYPES)[number];
