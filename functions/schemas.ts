// zod/mini: the same validation as zod's classic API in a tenth of the bundle (every Lambda
// carries these schemas; the classic API alone was 97 KB of each). Metadata for the OpenAPI
// document is registered in zod's global registry, which functions/openapi.ts reads.
import * as z from 'zod/mini';
import {
  ORDER_ITEM_STATUSES,
  ORDER_STATUSES,
  PAYMENT_EVENT_TYPES,
  PAYMENT_STATUSES,
  PROVIDERS,
  REFUND_STATUSES,
  SCHEDULE_STATUSES,
  SEAT_STATUSES,
  WAITLIST_STATUSES,
} from '../db/vocabulary';
import type { BestAvailablePick } from '../domain/best-available';
import type {
  ConcertChanges,
  ConcertInput,
  ConcertSearch,
  CreateScheduleInput,
  CreateVenueInput,
  SeatMapPageQuery,
} from '../domain/catalog';
import type { SeatPick } from '../domain/orders';
import type { PaymentEvent } from '../domain/payments';
import type { QueuedPaymentEvent } from '../domain/ports';
import type { ScheduleChanges } from '../domain/schedules';
import type { WaitingRoomInput } from '../domain/waiting-room';
import type { WaitlistSettings as WaitlistSettingsInput, WaitlistWish } from '../domain/waitlist';

/**
 * The HTTP contract of ../shared/API.md as zod schemas: they validate requests at run time and
 * generate the OpenAPI document (functions/openapi.ts), so the two cannot drift.
 */

type Meta = { id?: string; description?: string; example?: unknown };
/** Registers OpenAPI metadata (a component name, an example) for a schema and returns it. */
const doc = <T extends z.ZodMiniType>(schema: T, meta: Meta): T => {
  z.globalRegistry.add(schema, meta);
  return schema;
};

/**
 * A schema whose parsed value the domain accepts as `T`. The domain owns its input types; a request
 * schema is checked against them (`schema satisfies Parses<T>`), so a drift fails `tsc`.
 */
type Parses<T> = z.ZodMiniType<T, unknown>;

// ---- building blocks -------------------------------------------------------------------------

const int = () => z.int();
const intIn = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const str = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

/** Ids are positive integers below 2^53 (bigint in the database). Path and query strings coerce. */
export const Id = intIn(1, Number.MAX_SAFE_INTEGER);
const IdParam = z.coerce.number().check(z.int(), z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER));

export { doc };
export const Money = doc(z.string().check(z.regex(/^\d+\.\d{2}$/)), {
  example: '150000.00',
  description: 'Decimal string with two places, computed by the server',
});
/** Up to 10 digits, then at most two decimals: below 10^10, to the cent. */
const DECIMAL = /^\d{1,10}(\.\d{1,2})?$/;
const DecimalString = z.string().check(z.maxLength(13), z.regex(DECIMAL));
/**
 * Prices sent by admins: a decimal string or a number, at most two places, below 10^10. Checked as
 * written (a number as its shortest decimal form), never as `v * 100`: 19.99 * 100 is not 1999 in
 * binary floating point.
 */
export const PriceInput = doc(
  z.pipe(
    z.union([
      DecimalString,
      z.number().check(
        z.refine((v) => DECIMAL.test(String(v)), {
          message: 'a non-negative amount with at most two decimal places',
        }),
      ),
    ]),
    z.transform((v: number | string) => Number(v)),
  ),
  { example: '150000.00', description: 'A decimal string (or number) with at most two places' },
);
/**
 * An amount a gateway reported to the client (Toss's success redirect has `amount=15000`): a decimal
 * string or a number, as written, compared with the server's amount to the cent.
 */
const ReportedAmount = doc(
  z.pipe(
    z.union([
      DecimalString,
      z.number().check(
        z.refine((v) => DECIMAL.test(String(v)), {
          message: 'a non-negative amount with at most two decimal places',
        }),
      ),
    ]),
    z.transform((v: number | string) => String(v)),
  ),
  { example: '15000', description: 'The amount from the redirect, as a decimal string or a number' },
);
/** At most 40 characters: room for nanoseconds and an offset (`…T10:00:00.123456789+09:00` is 35). */
const Timestamp = doc(z.iso.datetime({ offset: true }).check(z.maxLength(40)), {
  example: '2026-12-24T10:00:00.000Z',
});
/** Trimmed, non-empty, bounded, and without NUL (PostgreSQL text cannot hold it). */
const Text = (max: number) =>
  z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(max),
    z.refine((s) => !s.includes('\u0000'), { message: 'must not contain NUL characters' }),
  );

export const Limit = z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20);
export const Cursor = z.optional(z.string().check(z.maxLength(200)));
export const Page = <T extends z.ZodMiniType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.nullable(z.string()) });

export const Problem = doc(
  z.object({
    type: z.string(),
    title: z.string(),
    status: int(),
    detail: z.string(),
    code: doc(z.string(), { example: 'SEAT_UNAVAILABLE' }),
    errors: z.optional(z.array(z.object({ field: z.string(), message: z.string() }))),
    seatIds: z.optional(z.array(Id)),
  }),
  { id: 'Problem' },
);

export const ScheduleStatus = z.enum(SCHEDULE_STATUSES);
export const Provider = z.enum(PROVIDERS);

// ---- params ----------------------------------------------------------------------------------

export const ConcertParams = z.object({ concertId: IdParam });
export const VenueParams = z.object({ venueId: IdParam });
export const ScheduleParams = z.object({ scheduleId: IdParam });
export const OrderParams = z.object({ orderId: IdParam });
export const IdParams = z.object({ id: IdParam });
export const ProviderParams = z.object({ provider: Provider });

// ---- catalog ---------------------------------------------------------------------------------

const concertShape = {
  id: Id,
  title: z.string(),
  artist: z.string(),
  genre: z.nullable(z.string()),
  description: z.nullable(z.string()),
  runtimeMinutes: z.nullable(int()),
};
export const Concert = doc(z.object(concertShape), { id: 'Concert' });
export const AdminConcert = doc(z.object({ ...concertShape, isActive: z.boolean() }), { id: 'AdminConcert' });

export const ConcertQuery = z.object({
  genre: z.optional(Text(50)),
  artist: z.optional(Text(200)),
  q: z.optional(Text(200)),
  limit: Limit,
  cursor: Cursor,
}) satisfies Parses<ConcertSearch>;

const VenueRef = z.object({ id: Id, name: z.string() });
export const ScheduleSummary = z.object({
  id: Id,
  venue: VenueRef,
  startAt: Timestamp,
  endAt: Timestamp,
  status: ScheduleStatus,
});
export const ConcertDetail = doc(z.object({ ...concertShape, schedules: z.array(ScheduleSummary) }), {
  id: 'ConcertDetail',
});
export const Schedule = doc(
  z.object({
    id: Id,
    concert: Concert,
    venue: z.object({ id: Id, name: z.string(), address: z.nullable(z.string()) }),
    startAt: Timestamp,
    endAt: Timestamp,
    status: ScheduleStatus,
    waitingRoom: z.object({ enabled: z.boolean() }),
    waitlist: z.object({ enabled: z.boolean() }),
  }),
  { id: 'Schedule' },
);

/** A seat of a performance, as both seat maps show it. */
const seatFields = {
  seatId: Id,
  section: z.string(),
  rowLabel: z.string(),
  number: int(),
  seatType: z.string(),
  price: Money,
};
/** Seats per page of a seat map, at most and by default: maps up to this size come whole. */
const SEAT_PAGE_MAX = 20_000;
export const SeatMapQuery = z.object({
  limit: z._default(
    doc(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(SEAT_PAGE_MAX)), {
      description: `Seats per page, at most ${SEAT_PAGE_MAX.toLocaleString('en')} (the default)`,
    }),
    SEAT_PAGE_MAX,
  ),
  cursor: Cursor,
}) satisfies Parses<SeatMapPageQuery>;
const seatPages = `Seats in layout order (that of \`GET /venues/{venueId}/layout\`). A map of up to ${SEAT_PAGE_MAX.toLocaleString('en')} seats comes whole (\`nextCursor\` null); a larger one in pages of \`limit\` seats: send \`nextCursor\` back as \`cursor\` until it is null. A page also ends early rather than pass 4 MB of JSON, so no answer outgrows Lambda's 6 MB response limit. To draw a large venue and poll it, use \`GET /venues/{venueId}/layout\` and \`GET /schedules/{scheduleId}/seat-status\` instead.`;
export const SeatMap = doc(
  z.object({
    scheduleId: Id,
    seats: z.array(z.object({ ...seatFields, status: z.enum(['available', 'unavailable']) })),
    nextCursor: z.nullable(z.string()),
  }),
  { id: 'SeatMap', description: seatPages },
);

export const VenueLayout = doc(
  z.object({
    venueId: Id,
    seatCount: int(),
    sections: z.array(
      z.object({
        section: z.string(),
        rows: z.array(
          doc(
            z.object({
              rowLabel: z.string(),
              seatType: z.string(),
              firstNumber: int(),
              count: int(),
              firstSeatId: Id,
            }),
            {
              description:
                'A run of `count` seats of one type: numbers `firstNumber` to `firstNumber + count - 1`, seat ids `firstSeatId` to `firstSeatId + count - 1`, in that order. A row made by `POST /admin/venues` is one run; a row that is not is listed as several runs with the same `rowLabel`.',
            },
          ),
        ),
      }),
    ),
  }),
  {
    id: 'VenueLayout',
    description:
      "The venue's seats in drawing order — sections by rank, rows as created, seat numbers ascending — which is layout order: the i-th seat here (counting runs' seats in turn) is the i-th bit of `GET /schedules/{scheduleId}/seat-status`. Static once created: cache it by its `ETag`.",
  },
);

export const SeatStatus = doc(
  z.object({
    scheduleId: Id,
    venueId: Id,
    /** Seats in the bitset: those of the venue's layout. */
    seatCount: int(),
    availableCount: int(),
    encoding: z.literal('bitset-base64'),
    available: doc(z.string(), {
      description:
        'Base64 (RFC 4648, padded) of `ceil(seatCount / 8)` bytes. Seat i of the layout (0-based, layout order) is available when bit `7 - i % 8` of byte `floor(i / 8)` is 1 — most significant bit first; the bits after the last seat are 0. 50,000 seats take 8,336 characters.',
      example: '/////w==',
    }),
  }),
  {
    id: 'SeatStatus',
    description:
      'Whether each seat of the schedule can be taken now, in layout order (`GET /venues/{venueId}/layout`). A hold that has lapsed counts as available at once. Poll with `If-None-Match`: 304 while no seat changed.',
  },
);

export const Availability = doc(
  z.object({
    total: int(),
    available: int(),
    sections: z.array(
      z.object({
        section: z.string(),
        seatType: z.string(),
        total: int(),
        available: int(),
        minPrice: z.nullable(Money),
      }),
    ),
  }),
  { id: 'Availability' },
);

// ---- orders ----------------------------------------------------------------------------------

const SeatIds = z.array(Id).check(z.minLength(1), z.maxLength(100));
export const CreateOrderBody = doc(
  z.union([
    z.strictObject({ scheduleId: Id, seatIds: SeatIds }),
    z.strictObject({
      scheduleId: Id,
      quantity: intIn(1, 100),
      section: z.optional(Text(50)),
      seatType: z.optional(Text(30)),
      maxPrice: z.optional(PriceInput),
    }),
  ]),
  {
    id: 'CreateOrder',
    description:
      'Either explicit `seatIds`, or `quantity` (with optional filters) for the best available seats',
  },
) satisfies Parses<SeatPick | BestAvailablePick>;

export const OrderStatus = z.enum(ORDER_STATUSES);
export const Payment = z.object({
  id: Id,
  provider: Provider,
  amount: Money,
  status: z.enum(PAYMENT_STATUSES),
  pgTid: z.nullable(z.string()),
  approvedAt: z.nullable(Timestamp),
  /** For a refund: the payment it gives money back from. */
  refundOf: z.nullable(Id),
  /** For a refund: requested → sent (the gateway accepted it), or failed once the retries ran out. */
  refundStatus: z.nullable(z.enum(REFUND_STATUSES)),
  /** For a refund: when the gateway accepted it. */
  refundedAt: z.nullable(Timestamp),
});
export const Order = doc(
  z.object({
    id: Id,
    scheduleId: Id,
    status: OrderStatus,
    totalAmount: Money,
    holdExpiresAt: z.nullable(Timestamp),
    createdAt: Timestamp,
    items: z.array(
      z.object({
        id: Id,
        seatId: Id,
        section: z.string(),
        rowLabel: z.string(),
        number: int(),
        price: Money,
        status: z.enum(ORDER_ITEM_STATUSES),
      }),
    ),
    /** A wait-list offer: seats freed for you, with their own deadline (`holdExpiresAt`). */
    offer: z.boolean(),
    payments: z.array(Payment),
  }),
  { id: 'Order' },
);
export const OrderPage = doc(Page(Order), { id: 'OrderPage' });

// ---- wait-list -------------------------------------------------------------------------------

export const JoinWaitlistBody = doc(
  z.strictObject({
    quantity: intIn(1, 100),
    section: z.optional(Text(50)),
    seatType: z.optional(Text(30)),
    maxPrice: z.optional(PriceInput),
  }),
  {
    id: 'JoinWaitlist',
    description:
      '`quantity` adjacent seats, optionally within a section, a seat type or a price per seat: what an offer will hold',
  },
) satisfies Parses<WaitlistWish>;
export const WaitlistEntry = doc(
  z.object({
    id: Id,
    scheduleId: Id,
    quantity: int(),
    section: z.nullable(z.string()),
    seatType: z.nullable(z.string()),
    maxPrice: z.nullable(Money),
    status: z.enum(WAITLIST_STATUSES),
    /** Among the schedule's waiting entries, 1 is served first; null once not waiting. */
    position: z.nullable(int()),
    /** The offer's order (pay it as any order, before its `holdExpiresAt`). */
    orderId: z.nullable(Id),
    createdAt: Timestamp,
  }),
  {
    id: 'WaitlistEntry',
    description:
      'waiting → offered (an order of adjacent seats, `offer: true`, with its own deadline) → accepted (paid), lapsed (not paid in time: the seats pass to the next entry) or declined (its order cancelled); waiting → left; closed when the schedule is cancelled or has started',
  },
);
export const WaitlistPage = doc(Page(WaitlistEntry), { id: 'WaitlistPage' });
export const WaitlistEntryParams = z.object({ id: IdParam });
export const PageQuery = z.object({ limit: Limit, cursor: Cursor });

export const CancelOrderBody = doc(
  z.strictObject({ itemIds: z.optional(z.array(Id).check(z.minLength(1), z.maxLength(100))) }),
  { id: 'CancelOrder' },
);

export const ExtendHoldBody = doc(z.strictObject({}), { id: 'ExtendHold', description: 'No fields' });
export const StartPaymentBody = doc(z.strictObject({ provider: Provider }), { id: 'StartPayment' });
export const PaymentStarted = doc(
  z.object({
    id: Id,
    orderId: Id,
    provider: Provider,
    amount: Money,
    status: z.literal('initiated'),
    checkout: doc(z.record(z.string(), z.unknown()), {
      description:
        "What the provider's browser SDK needs. toss: `{ clientKey, orderId, orderName, amount, customerKey }` " +
        'for `requestPayment`; portone: `{ storeId, channelKey, paymentId, orderName, totalAmount, currency }` for ' +
        '`PortOne.requestPayment`; card / kakao / naver: `{ paymentId, amount }` (the built-in gateway).',
    }),
  }),
  { id: 'PaymentStarted' },
);
export const PaymentParams = z.object({ orderId: IdParam, paymentId: IdParam });
export const ConfirmPaymentBody = doc(
  z.strictObject({
    /** Toss: the paymentKey from the success redirect. */
    paymentKey: z.optional(str(1, 200)),
    /** Toss: the amount from the success redirect; it must equal the payment's amount. */
    amount: z.optional(ReportedAmount),
  }),
  {
    id: 'ConfirmPayment',
    description: 'toss: `{ paymentKey, amount }` from the success redirect; portone: `{}`',
  },
);

// ---- waiting room ----------------------------------------------------------------------------

/** A token as a header value (a new schema each time: metadata is registered per schema). */
const jwtText = () => str(1, 2048);
export const QueueTokenHeader = z.object({
  'Queue-Token': doc(jwtText(), { description: 'The `queueToken` joining the queue gave you' }),
});
export const AdmissionTokenHeader = z.object({
  'Admission-Token': z.optional(
    doc(jwtText(), {
      description:
        "The `admissionToken` the waiting room gave you once admitted; required while the schedule's waiting room is on",
    }),
  ),
});
const Position = doc(intIn(1, Number.MAX_SAFE_INTEGER), { description: 'Your place in the queue, from 1' });
const WaitSeconds = doc(intIn(0, Number.MAX_SAFE_INTEGER), {
  description: 'At the room’s rate, from where admission stands now; 0 once admitted',
});
export const QueueJoined = doc(
  z.object({
    position: Position,
    queueToken: doc(z.string(), { description: 'Send it as the `Queue-Token` header of your polls' }),
    estimatedWaitSeconds: WaitSeconds,
  }),
  { id: 'QueueJoined' },
);
export const QueueStatus = doc(
  z.object({
    position: Position,
    admittedThrough: doc(intIn(0, Number.MAX_SAFE_INTEGER), {
      description: 'Every position up to this one is admitted',
    }),
    estimatedWaitSeconds: WaitSeconds,
    soldOut: doc(z.boolean(), {
      description: 'No seat is available now: nobody more is admitted until seats come back',
    }),
    admissionToken: z.optional(
      doc(z.string(), {
        description:
          'Once `position ≤ admittedThrough`: send it as the `Admission-Token` header of `POST /orders` for this schedule; it lasts ADMISSION_TTL_SECONDS (600 s), and a later poll gives a fresh one',
      }),
    ),
  }),
  { id: 'QueueStatus' },
);

// ---- admin -----------------------------------------------------------------------------------

const concertFields = {
  title: Text(200),
  artist: Text(200),
  genre: z.optional(z.nullable(Text(50))),
  description: z.optional(z.nullable(z.string().check(z.maxLength(5000)))),
  runtimeMinutes: z.optional(z.nullable(intIn(1, 1440))),
  isActive: z.optional(z.boolean()),
};
export const CreateConcertBody = doc(z.strictObject(concertFields), {
  id: 'CreateConcert',
}) satisfies Parses<ConcertInput>;
export const UpdateConcertBody = doc(
  z
    .partial(z.strictObject(concertFields))
    .check(z.refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change' })),
  { id: 'UpdateConcert' },
) satisfies Parses<ConcertChanges>;

const SeatTypeName = z.string().check(z.trim(), z.minLength(1), z.maxLength(30));
export const CreateVenueBody = doc(
  z
    .strictObject({
      name: Text(200),
      address: z.optional(z.nullable(z.string().check(z.maxLength(500)))),
      sections: z
        .array(
          z.strictObject({
            section: Text(50),
            /** Optional ordering of sections by quality; 1 = best. Defaults to the request order. */
            rank: z.optional(intIn(1, 1000)),
            rows: z
              .array(
                z.strictObject({
                  rowLabel: Text(20),
                  seats: intIn(1, 2000),
                  seatType: SeatTypeName,
                  basePrice: PriceInput,
                }),
              )
              .check(z.minLength(1), z.maxLength(1000)),
          }),
        )
        .check(z.minLength(1), z.maxLength(200)),
    })
    .check(
      z.superRefine((venue, ctx) => {
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
      }),
    ),
  { id: 'CreateVenue' },
) satisfies Parses<CreateVenueInput>;
export const VenueCreated = doc(
  z.object({ id: Id, name: z.string(), address: z.nullable(z.string()), seatCount: int() }),
  { id: 'Venue' },
);

export const WaitingRoomSettings = doc(
  z.strictObject({ enabled: z.boolean(), admitPerMinute: z.optional(intIn(1, 100_000)) }),
  {
    id: 'WaitingRoomSettings',
    description:
      'The waiting room: while it is on, fans join a queue and order only once admitted, in position order, about `admitPerMinute` a minute. `admitPerMinute` is required the first time a room is turned on, and kept when left out.',
  },
) satisfies Parses<WaitingRoomInput>;

export const WaitlistSettings = doc(z.strictObject({ enabled: z.boolean() }), {
  id: 'WaitlistSettings',
  description:
    'The cancellation wait-list: while it is on, fans may join it, and seats that come free (a lapsed hold, a cancellation, a failed or refunded payment) are offered to its entries in entry order before they go back on sale. Turning it off stops joins and offers; entries keep their place.',
}) satisfies Parses<WaitlistSettingsInput>;

export const CreateScheduleBody = doc(
  z
    .strictObject({
      concertId: Id,
      venueId: Id,
      startAt: Timestamp,
      endAt: Timestamp,
      prices: z.optional(z.record(SeatTypeName, PriceInput)),
      /** Refuse explicit picks that would strand a single empty seat (best-available always avoids it). */
      noSingleSeatGaps: z.optional(z.boolean()),
      waitingRoom: z.optional(WaitingRoomSettings),
      waitlist: z.optional(WaitlistSettings),
    })
    .check(
      z.refine((s) => Date.parse(s.endAt) > Date.parse(s.startAt), {
        message: 'endAt must be after startAt',
        path: ['endAt'],
      }),
    ),
  { id: 'CreateSchedule' },
) satisfies Parses<CreateScheduleInput>;
export const UpdateScheduleBody = doc(
  z
    .strictObject({
      status: z.optional(ScheduleStatus),
      waitingRoom: z.optional(WaitingRoomSettings),
      waitlist: z.optional(WaitlistSettings),
    })
    .check(
      z.refine((b) => b.status !== undefined || b.waitingRoom !== undefined || b.waitlist !== undefined, {
        message: 'at least one of status, waitingRoom and waitlist',
      }),
    ),
  { id: 'UpdateSchedule' },
) satisfies Parses<ScheduleChanges>;
const CancellationProgress = doc(
  z.object({
    ordersLeft: int(),
    refundsRequested: int(),
    refundsSent: int(),
    refundsFailed: int(),
  }),
  {
    id: 'CancellationProgress',
    description:
      'How far cancelling the schedule has got: orders not yet cancelled or refunded, and the refunds of its orders by where the money is (requested: recorded, not yet accepted by the gateway; sent; failed: given up on, an operator acts)',
  },
);
export const AdminSchedule = doc(
  z.object({
    id: Id,
    concertId: Id,
    venueId: Id,
    startAt: Timestamp,
    endAt: Timestamp,
    status: ScheduleStatus,
    seatCount: int(),
    waitingRoom: doc(
      z.object({
        enabled: z.boolean(),
        admitPerMinute: z.nullable(int()),
        /** The highest position handed out. */
        joined: int(),
        admittedThrough: int(),
      }),
      { description: 'The waiting room: its settings, how many have joined and how far admission has got' },
    ),
    waitlist: WaitlistSettings,
    /** Only on a cancelled schedule. */
    cancellation: z.optional(CancellationProgress),
  }),
  { id: 'AdminSchedule' },
);

const SeatStatusName = z.enum(SEAT_STATUSES);
export const AdminSeatMap = doc(
  z.object({
    scheduleId: Id,
    seats: z.array(
      z.object({
        ...seatFields,
        status: SeatStatusName,
        holdExpiresAt: z.nullable(Timestamp),
        orderId: z.nullable(Id),
      }),
    ),
    nextCursor: z.nullable(z.string()),
  }),
  { id: 'AdminSeatMap', description: seatPages },
);

export const ScheduleReport = doc(
  z.object({
    scheduleId: Id,
    seats: z.object({ total: int(), available: int(), held: int(), pendingPayment: int(), booked: int() }),
    revenue: Money,
    paidOrders: int(),
  }),
  { id: 'ScheduleReport' },
);

export const SalesQuery = z
  .object({
    groupBy: z.enum(['genre', 'artist']),
    from: z.optional(Timestamp),
    to: z.optional(Timestamp),
  })
  .check(
    z.refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
      message: 'from must not be after to',
      path: ['from'],
    }),
  );
export const SalesReport = doc(z.array(z.object({ key: z.string(), ticketsSold: int(), revenue: Money })), {
  id: 'SalesReport',
});

const RefundLine = z.object({
  paymentId: Id,
  orderId: Id,
  amount: Money,
  refundOf: Id,
  createdAt: Timestamp,
  attempts: int(),
  lastError: z.nullable(z.string()),
});
export const Reconciliation = doc(
  z.object({
    paidWithoutTicket: z.array(
      z.object({ paymentId: Id, orderId: Id, orderStatus: OrderStatus, amount: Money }),
    ),
    /** Refunds the worker has not got through to the gateway yet. */
    refundsToSend: z.array(RefundLine),
    /** Refunds given up on after the retries (or refused by the gateway): money owed, an alarm fired. */
    failedRefunds: z.array(RefundLine),
    stuckPayments: z.array(
      z.object({ paymentId: Id, orderId: Id, amount: Money, expiresAt: z.nullable(Timestamp) }),
    ),
    flaggedPayments: z.array(z.object({ paymentId: Id, orderId: Id, flag: z.string() })),
  }),
  { id: 'Reconciliation' },
);

// ---- webhooks, system, local -----------------------------------------------------------------

export const WebhookEvent = doc(
  z.object({
    eventId: str(1, 200),
    type: z.enum(PAYMENT_EVENT_TYPES),
    paymentId: Id,
    pgTid: str(1, 200),
    amount: DecimalString,
    occurredAt: Timestamp,
  }),
  { id: 'PaymentWebhookEvent' },
) satisfies Parses<PaymentEvent>;
export const Accepted = z.object({ accepted: z.literal(true), eventId: z.string() });
/** What the webhook receiver enqueues for the payment processor: checked on arrival, never cast. */
export const QueuedPaymentEventMessage = z.union([
  z.object({ provider: Provider, event: WebhookEvent, receivedAt: Timestamp }),
  z.object({
    provider: Provider,
    lookup: z.object({
      notificationId: str(1, 200),
      paymentRef: str(1, 200),
      pgTid: z.optional(z.nullable(str(1, 200))),
    }),
    receivedAt: Timestamp,
  }),
]) satisfies Parses<QueuedPaymentEvent>;

/** What the bus rule delivers to the refund queue: the EventBridge event of a `refund.requested`. */
export const RefundRequestedMessage = z.object({
  'detail-type': z.literal('refund.requested'),
  detail: z.object({ refundId: Id }),
});

export const Health = z.object({ status: z.literal('ok') });
export const OpenApiDocument = z.looseObject({ openapi: z.literal('3.1.0') });
export const DevTokenBody = z.strictObject({
  sub: Text(255),
  email: z.optional(z.email().check(z.maxLength(320))),
  name: z.optional(Text(200)),
  admin: z.optional(z.boolean()),
});
export const DevToken = z.object({ token: z.string() });
