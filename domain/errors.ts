import type * as z from 'zod/mini';

/**
 * The one error vocabulary of the service. Domain code throws these; the HTTP layer turns
 * them into RFC 9457 problem details in one place (functions/http/middleware/problem-details.ts).
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'SEAT_UNAVAILABLE'
  | 'SEATS_NOT_IN_SCHEDULE'
  | 'DUPLICATE_SEATS'
  | 'SEAT_LIMIT_EXCEEDED'
  | 'SINGLE_SEAT_GAP'
  | 'SOLD_OUT'
  | 'SALES_CLOSED'
  | 'ORDER_EXPIRED'
  | 'ORDER_NOT_PAYABLE'
  | 'NOTHING_CANCELLABLE'
  | 'EXTENSION_USED'
  | 'SCHEDULE_STARTED'
  | 'INVALID_STATUS_TRANSITION'
  | 'CONFLICT'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INVALID_SIGNATURE'
  | 'PAYMENT_DECLINED'
  | 'AMOUNT_MISMATCH'
  | 'CONFIRM_NOT_SUPPORTED'
  | 'PAYMENT_PENDING'
  | 'PAYMENT_NOT_CONFIRMED'
  | 'GATEWAY_REJECTED'
  | 'GATEWAY_UNAVAILABLE'
  | 'WAITING_ROOM_OFF'
  | 'WAITLIST_OFF'
  | 'ALREADY_WAITLISTED'
  | 'SCHEDULE_CANCELLED'
  | 'ADMISSION_REQUIRED'
  | 'ADMISSION_INVALID'
  | 'QUEUE_TOKEN_INVALID'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

const statusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  INVALID_SIGNATURE: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SEAT_UNAVAILABLE: 409,
  SOLD_OUT: 409,
  SALES_CLOSED: 409,
  ORDER_EXPIRED: 409,
  ORDER_NOT_PAYABLE: 409,
  NOTHING_CANCELLABLE: 409,
  EXTENSION_USED: 409,
  SCHEDULE_STARTED: 409,
  INVALID_STATUS_TRANSITION: 409,
  CONFLICT: 409,
  WAITING_ROOM_OFF: 409,
  /** the schedule's wait-list is not turned on */
  WAITLIST_OFF: 409,
  /** the fan has a live (waiting or offered) entry in this schedule's wait-list */
  ALREADY_WAITLISTED: 409,
  SCHEDULE_CANCELLED: 409,
  /** the schedule's waiting room is on and the order carries no Admission-Token */
  ADMISSION_REQUIRED: 403,
  /** an Admission-Token that is expired, forged, or another fan's or schedule's */
  ADMISSION_INVALID: 403,
  QUEUE_TOKEN_INVALID: 403,
  SEATS_NOT_IN_SCHEDULE: 422,
  DUPLICATE_SEATS: 422,
  SEAT_LIMIT_EXCEEDED: 422,
  SINGLE_SEAT_GAP: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  /** the gateway refused the payment (card declined, …): its code is in `gatewayCode` */
  PAYMENT_DECLINED: 402,
  AMOUNT_MISMATCH: 422,
  CONFIRM_NOT_SUPPORTED: 409,
  PAYMENT_PENDING: 409,
  /** the gateway has no such payment to confirm (a made-up paymentKey, not paid yet, window expired) */
  PAYMENT_NOT_CONFIRMED: 422,
  /** the gateway refused our request itself (a key, an unknown payment): not the customer's doing */
  GATEWAY_REJECTED: 502,
  /** the gateway did not answer, even after retries: nothing changed, try again */
  GATEWAY_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

const titleOf = (code: ErrorCode) =>
  code
    .toLowerCase()
    .split('_')
    .map((w, i) => (i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(' ');

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail: string,
    /** Extra members of the problem document, e.g. `seatIds` or `errors`. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = statusOf[code];
  }

  get title(): string {
    return titleOf(this.code);
  }
}

export const notFound = (what: string, id: number | string) =>
  new AppError('NOT_FOUND', `${what} ${id} not found`);

/** JSON text → value, or a 400 MALFORMED_JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('MALFORMED_JSON', 'The body is not valid JSON');
  }
}

/** The schema's output, or a 400 VALIDATION_FAILED listing the bad fields (`where.path`). */
export function parseWith<T extends z.ZodMiniType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.slice(0, 20).map((issue) => ({
    field: [where, ...issue.path].join('.'),
    message: issue.message,
  }));
  throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
    errors,
  });
}
