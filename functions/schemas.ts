// `import * as z` (not `{ z }`) lets esbuild drop the parts of zod a function does not use — the
// locales alone are 300 KB — and `.meta()` (not zod-to-openapi's `.openapi()`) keeps the OpenAPI
// generator out of every bundle but the one that serves the document.
import * as z from 'zod';

/**
 * The HTTP contract of ../shared/API.md as zod schemas: they validate requests at run time and
 * generate the OpenAPI document (functions/openapi.ts), so the two cannot drift.
 */

// ---- building blocks -------------------------------------------------------------------------

/** Ids are positive integers below 2^53 (bigint in the database). Path and query strings coerce. */
export const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const IdParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const Money = z
  .string()
  .regex(/^\d+\.\d{2}$/)
  .meta({ example: '150000.00', description: 'Decimal string with two places, computed by the server' });
/** Prices sent by admins: a number or a decimal string, at most two places, below 10^10. */
export const PriceInput = z
  .union([z.number(), z.string().regex(/^\d{1,10}(\.\d{1,2})?$/)])
  .transform((v) => Number(v))
  .refine((v) => Number.isFinite(v) && v >= 0 && v < 1e10 && Math.round(v * 100) === v * 100, {
    message: 'a non-negative amount with at most two decimal places',
  })
  .meta({ type: 'string', example: '150000.00' });
const Timestamp = z.iso.datetime({ offset: true }).meta({ example: '2026-12-24T10:00:00.000Z' });
/** Trimmed, non-empty, bounded, and without NUL (PostgreSQL text cannot hold it). */
const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), { message: 'must not contain NUL characters' });

export const Limit = z.coerce.number().int().min(1).max(100).default(20);
export const Cursor = z.string().max(200).optional();
export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ example: 'SEAT_UNAVAILABLE' }),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    seatIds: z.array(Id).optional(),
  })
  .meta({ id: 'Problem' });

export const ScheduleStatus = z.enum(['sales_open', 'closed', 'cancelled']);
export const Provider = z.enum(['card', 'kakao', 'naver']);

// ---- params ----------------------------------------------------------------------------------

export const ConcertParams = z.object({ concertId: IdParam });
export const ScheduleParams = z.object({ scheduleId: IdParam });
export const OrderParams = z.object({ orderId: IdParam });
export const IdParams = z.object({ id: IdParam });
export const ProviderParams = z.object({ provider: Provider });

// ---- catalog ---------------------------------------------------------------------------------

export const Concert = z
  .object({
    id: Id,
    title: z.string(),
    artist: z.string(),
    genre: z.string().nullable(),
    description: z.string().nullable(),
    runtimeMinutes: z.number().int().nullable(),
  })
  .meta({ id: 'Concert' });
export const AdminConcert = Concert.extend({ isActive: z.boolean() }).meta({ id: 'AdminConcert' });

export const ConcertQuery = z.object({
  genre: Text(50).optional(),
  artist: Text(200).optional(),
  q: Text(200).optional(),
  limit: Limit,
  cursor: Cursor,
});

const VenueRef = z.object({ id: Id, name: z.string() });
export const ScheduleSummary = z.object({
  id: Id,
  venue: VenueRef,
  startAt: Timestamp,
  endAt: Timestamp,
  status: ScheduleStatus,
});
export const ConcertDetail = Concert.extend({ schedules: z.array(ScheduleSummary) }).meta({
  id: 'ConcertDetail',
});
export const Schedule = z
  .object({
    id: Id,
    concert: Concert,
    venue: VenueRef.extend({ address: z.string().nullable() }),
    startAt: Timestamp,
    endAt: Timestamp,
    status: ScheduleStatus,
  })
  .meta({ id: 'Schedule' });

export const SeatMap = z
  .object({
    scheduleId: Id,
    seats: z.array(
      z.object({
        seatId: Id,
        section: z.string(),
        rowLabel: z.string(),
        number: z.number().int(),
        seatType: z.string(),
        price: Money,
        status: z.enum(['available', 'unavailable']),
      }),
    ),
  })
  .meta({ id: 'SeatMap' });

export const Availability = z
  .object({
    total: z.number().int(),
    available: z.number().int(),
    sections: z.array(
      z.object({
        section: z.string(),
        seatType: z.string(),
        total: z.number().int(),
        available: z.number().int(),
        minPrice: Money.nullable(),
      }),
    ),
  })
  .meta({ id: 'Availability' });

// ---- orders ----------------------------------------------------------------------------------

const SeatIds = z.array(Id).min(1).max(100);
export const CreateOrderBody = z
  .union([
    z.object({ scheduleId: Id, seatIds: SeatIds }).strict(),
    z
      .object({
        scheduleId: Id,
        quantity: z.number().int().min(1).max(100),
        section: Text(50).optional(),
        seatType: Text(30).optional(),
        maxPrice: PriceInput.optional(),
      })
      .strict(),
  ])
  .meta({
    id: 'CreateOrder',
    description:
      'Either explicit `seatIds`, or `quantity` (with optional filters) for the best available seats',
  });

export const OrderStatus = z.enum(['created', 'awaiting_payment', 'paid', 'cancelled', 'refunded']);
export const Payment = z.object({
  id: Id,
  provider: Provider,
  amount: Money,
  status: z.enum(['initiated', 'success', 'fail', 'refund']),
  pgTid: z.string().nullable(),
  approvedAt: Timestamp.nullable(),
});
export const Order = z
  .object({
    id: Id,
    scheduleId: Id,
    status: OrderStatus,
    totalAmount: Money,
    holdExpiresAt: Timestamp.nullable(),
    createdAt: Timestamp,
    items: z.array(
      z.object({
        id: Id,
        seatId: Id,
        section: z.string(),
        rowLabel: z.string(),
        number: z.number().int(),
        price: Money,
        status: z.enum(['held', 'booked', 'cancelled']),
      }),
    ),
    payments: z.array(Payment),
  })
  .meta({ id: 'Order' });
export const OrderPage = Page(Order).meta({ id: 'OrderPage' });
export const PageQuery = z.object({ limit: Limit, cursor: Cursor });

export const CancelOrderBody = z
  .object({ itemIds: z.array(Id).min(1).max(100).optional() })
  .strict()
  .meta({ id: 'CancelOrder' });

export const StartPaymentBody = z.object({ provider: Provider }).strict().meta({ id: 'StartPayment' });
export const PaymentStarted = z
  .object({ id: Id, orderId: Id, provider: Provider, amount: Money, status: z.literal('initiated') })
  .meta({ id: 'PaymentStarted' });

// ---- admin -----------------------------------------------------------------------------------

export const CreateConcertBody = z
  .object({
    title: Text(200),
    artist: Text(200),
    genre: Text(50).nullable().optional(),
    description: z.string().max(5000).nullable().optional(),
    runtimeMinutes: z.number().int().min(1).max(1440).nullable().optional(),
    isActive: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'CreateConcert' });
export const UpdateConcertBody = CreateConcertBody.partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change' })
  .meta({ id: 'UpdateConcert' });

const SeatTypeName = z.string().trim().min(1).max(30);
export const CreateVenueBody = z
  .object({
    name: Text(200),
    address: z.string().max(500).nullable().optional(),
    sections: z
      .array(
        z
          .object({
            section: Text(50),
            /** Optional ordering of sections by quality; 1 = best. Defaults to the request order. */
            rank: z.number().int().min(1).max(1000).optional(),
            rows: z
              .array(
                z
                  .object({
                    rowLabel: Text(20),
                    seats: z.number().int().min(1).max(2000),
                    seatType: SeatTypeName,
                    basePrice: PriceInput,
                  })
                  .strict(),
              )
              .min(1)
              .max(1000),
          })
          .strict(),
      )
      .min(1)
      .max(200),
  })
  .strict()
  .superRefine((venue, ctx) => {
    const total = venue.sections.reduce((n, s) => n + s.rows.reduce((m, r) => m + r.seats, 0), 0);
    if (total > 100_000)
      ctx.addIssue({ code: 'custom', path: ['sections'], message: 'at most 100,000 seats' });
    const names = new Set<string>();
    venue.sections.forEach((s, i) => {
      if (names.has(s.section))
        ctx.addIssue({ code: 'custom', path: ['sections', i, 'section'], message: 'duplicate section' });
      names.add(s.section);
      const rows = new Set<string>();
      s.rows.forEach((r, j) => {
        if (rows.has(r.rowLabel))
          ctx.addIssue({
            code: 'custom',
            path: ['sections', i, 'rows', j, 'rowLabel'],
            message: 'duplicate row',
          });
        rows.add(r.rowLabel);
      });
    });
  })
  .meta({ id: 'CreateVenue' });
export type CreateVenueInput = z.infer<typeof CreateVenueBody>;
export const VenueCreated = z
  .object({ id: Id, name: z.string(), address: z.string().nullable(), seatCount: z.number().int() })
  .meta({ id: 'Venue' });

export const CreateScheduleBody = z
  .object({
    concertId: Id,
    venueId: Id,
    startAt: Timestamp,
    endAt: Timestamp,
    prices: z.record(SeatTypeName, PriceInput).optional(),
    /** Refuse explicit picks that would strand a single empty seat (best-available always avoids it). */
    noSingleSeatGaps: z.boolean().optional(),
  })
  .strict()
  .refine((s) => Date.parse(s.endAt) > Date.parse(s.startAt), {
    message: 'endAt must be after startAt',
    path: ['endAt'],
  })
  .meta({ id: 'CreateSchedule' });
export type CreateScheduleInput = z.infer<typeof CreateScheduleBody>;
export const UpdateScheduleBody = z
  .object({ status: ScheduleStatus })
  .strict()
  .meta({ id: 'UpdateSchedule' });
export const AdminSchedule = z
  .object({
    id: Id,
    concertId: Id,
    venueId: Id,
    startAt: Timestamp,
    endAt: Timestamp,
    status: ScheduleStatus,
    seatCount: z.number().int(),
  })
  .meta({ id: 'AdminSchedule' });

export const SeatStatus = z.enum(['available', 'held', 'pending_payment', 'booked', 'cancelled']);
export const AdminSeatMap = z
  .object({
    scheduleId: Id,
    seats: z.array(
      z.object({
        seatId: Id,
        section: z.string(),
        rowLabel: z.string(),
        number: z.number().int(),
        seatType: z.string(),
        price: Money,
        status: SeatStatus,
        holdExpiresAt: Timestamp.nullable(),
        orderId: Id.nullable(),
      }),
    ),
  })
  .meta({ id: 'AdminSeatMap' });

export const ScheduleReport = z
  .object({
    scheduleId: Id,
    seats: z.object({
      total: z.number().int(),
      available: z.number().int(),
      held: z.number().int(),
      pendingPayment: z.number().int(),
      booked: z.number().int(),
    }),
    revenue: Money,
    paidOrders: z.number().int(),
  })
  .meta({ id: 'ScheduleReport' });

export const SalesQuery = z
  .object({
    groupBy: z.enum(['genre', 'artist']),
    from: Timestamp.optional(),
    to: Timestamp.optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  });
export const SalesReport = z
  .array(z.object({ key: z.string(), ticketsSold: z.number().int(), revenue: Money }))
  .meta({ id: 'SalesReport' });

export const Reconciliation = z
  .object({
    paidWithoutTicket: z.array(
      z.object({ paymentId: Id, orderId: Id, orderStatus: OrderStatus, amount: Money }),
    ),
    refundsToSend: z.array(
      z.object({ paymentId: Id, orderId: Id, amount: Money, refundOf: Id, createdAt: Timestamp }),
    ),
    stuckPayments: z.array(
      z.object({ paymentId: Id, orderId: Id, amount: Money, expiresAt: Timestamp.nullable() }),
    ),
    flaggedPayments: z.array(z.object({ paymentId: Id, orderId: Id, flag: z.string() })),
  })
  .meta({ id: 'Reconciliation' });

// ---- webhooks, system, local -----------------------------------------------------------------

export const WebhookEvent = z
  .object({
    eventId: z.string().min(1).max(200),
    type: z.enum(['payment.succeeded', 'payment.failed', 'payment.cancelled']),
    paymentId: Id,
    pgTid: z.string().min(1).max(200),
    amount: z.string().regex(/^\d{1,10}(\.\d{1,2})?$/),
    occurredAt: Timestamp,
  })
  .meta({ id: 'PaymentWebhookEvent' });
export type WebhookEventBody = z.infer<typeof WebhookEvent>;
export const Accepted = z.object({ accepted: z.literal(true), eventId: z.string() });

export const Health = z.object({ status: z.literal('ok') });
export const DevTokenBody = z
  .object({
    sub: Text(255),
    email: z.string().email().max(320).optional(),
    name: Text(200).optional(),
    admin: z.boolean().optional(),
  })
  .strict();
export const DevToken = z.object({ token: z.string() });
