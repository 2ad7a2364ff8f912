import type * as z from 'zod/mini';
import { type HandlerRef, handlersIn, type RouteModules } from './handlers';
import type { Need } from './needs';
import * as s from './schemas';

/**
 * The one route table. The CDK stack makes one Lambda and one API Gateway route per entry, the
 * local gateway serves the same entries with the same handlers, and the OpenAPI document is
 * generated from them — so the three cannot drift.
 */
export type Auth =
  /** anyone */
  | 'public'
  /** a valid JWT (API Gateway's JWT authorizer in AWS) */
  | 'customer'
  /** a valid JWT with the admin group */
  | 'admin'
  /** no JWT; the handler verifies the PG's signature */
  | 'webhook'
  /** served by the local gateway only, never deployed */
  | 'local';

export interface RouteDef {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  auth: Auth;
  /** Module under functions/ and its export: becomes the Lambda's entry and handler. */
  handler: HandlerRef<keyof RouteModules>;
  /** What the handler uses; the stack grants exactly these (functions/needs.ts). */
  needs: readonly Need[];
  summary: string;
  params?: z.ZodMiniObject;
  query?: z.ZodMiniType;
  /** Request headers the handler reads, by their canonical names (`Queue-Token`). */
  headers?: z.ZodMiniObject;
  body?: z.ZodMiniType;
  /** The body may be left out (treated as `{}`). */
  bodyOptional?: boolean;
  /** Largest accepted body in bytes. */
  maxBodyBytes?: number;
  /** The handler parses the body itself, after checking a signature over the raw bytes. */
  verifiesBody?: boolean;
  /** Honours the Idempotency-Key header. */
  idempotent?: boolean;
  /**
   * The body or the path names a schedule (`scheduleId`) whose waiting room, while it is on, admits
   * only fans with an `Admission-Token` (functions/http/middleware/admission.ts).
   */
  admission?: boolean;
  /**
   * The handler needs only the token's subject, not the caller's `users` row: nothing is read or
   * written for the caller (a waiting room poll writes nothing).
   */
  identityOnly?: boolean;
  /** Problem responses of this route beyond those every route of its kind has, with when. */
  problems?: Readonly<Record<number, string>>;
  /** The success status. */
  status: number;
  /**
   * Other success statuses the handler may choose (`WithStatus`), each with when it is sent; the
   * body has the same `response` schema. The OpenAPI document lists them.
   */
  otherStatuses?: Readonly<Record<number, string>>;
  /**
   * The handler answers with an entity tag (`conditional` in functions/http/responses.ts): `ETag`
   * and this `Cache-Control` on success, and 304 without a body when `If-None-Match` names the tag.
   */
  cacheControl?: string;
  response: z.ZodMiniType;
}

const catalog = handlersIn('http/catalog');
const orders = handlersIn('http/orders');
const admin = handlersIn('http/admin');
const system = handlersIn('http/system');
const webhooks = handlersIn('http/webhooks');
const waitingRoom = handlersIn('http/waiting-room');
const waitlist = handlersIn('http/waitlist');
const local = handlersIn('../local/dev-token');

export const routes = {
  health: {
    method: 'GET',
    path: '/health',
    auth: 'public',
    handler: system('health'),
    needs: ['database'],
    summary: 'Liveness with a database round trip',
    status: 200,
    response: s.Health,
  },
  openapi: {
    method: 'GET',
    path: '/openapi.json',
    auth: 'public',
    handler: system('openapi'),
    needs: [],
    summary: 'This document',
    status: 200,
    response: s.OpenApiDocument,
  },

  listConcerts: {
    method: 'GET',
    path: '/concerts',
    auth: 'public',
    handler: catalog('listConcerts'),
    needs: ['database'],
    summary: 'Active concerts',
    query: s.ConcertQuery,
    status: 200,
    response: s.Page(s.Concert),
  },
  getConcert: {
    method: 'GET',
    path: '/concerts/{concertId}',
    auth: 'public',
    handler: catalog('getConcert'),
    needs: ['database'],
    summary: 'A concert with its schedules',
    params: s.ConcertParams,
    status: 200,
    response: s.ConcertDetail,
  },
  getSchedule: {
    method: 'GET',
    path: '/schedules/{scheduleId}',
    auth: 'public',
    handler: catalog('getSchedule'),
    needs: ['database'],
    summary: 'A schedule (performance)',
    params: s.ScheduleParams,
    status: 200,
    response: s.Schedule,
  },
  getSeatMap: {
    method: 'GET',
    path: '/schedules/{scheduleId}/seats',
    auth: 'public',
    handler: catalog('getSeatMap'),
    needs: ['database'],
    summary: 'The seat map: available or unavailable (large maps in pages)',
    params: s.ScheduleParams,
    query: s.SeatMapQuery,
    status: 200,
    response: s.SeatMap,
  },
  getSeatStatus: {
    method: 'GET',
    path: '/schedules/{scheduleId}/seat-status',
    auth: 'public',
    handler: catalog('getSeatStatus'),
    needs: ['database'],
    summary: 'Every seat available or not, in layout order, as a bitset: poll it with If-None-Match',
    params: s.ScheduleParams,
    status: 200,
    // shared caches may answer for a second: 100,000 fans polling reach the function about once a second per edge
    cacheControl: 'public, max-age=1',
    response: s.SeatStatus,
  },
  getVenueLayout: {
    method: 'GET',
    path: '/venues/{venueId}/layout',
    auth: 'public',
    handler: catalog('getVenueLayout'),
    needs: ['database'],
    summary: "The venue's sections, rows and seats in drawing order (static: cache it)",
    params: s.VenueParams,
    status: 200,
    cacheControl: 'public, max-age=86400',
    response: s.VenueLayout,
  },
  getAvailability: {
    method: 'GET',
    path: '/schedules/{scheduleId}/availability',
    auth: 'public',
    handler: catalog('getAvailability'),
    needs: ['database'],
    summary: 'Seat counts by section',
    params: s.ScheduleParams,
    status: 200,
    response: s.Availability,
  },

  joinQueue: {
    method: 'POST',
    path: '/schedules/{scheduleId}/queue',
    auth: 'customer',
    handler: waitingRoom('joinQueue'),
    needs: ['database', 'waitingRoomSecret'],
    summary: "Join a schedule's waiting room",
    params: s.ScheduleParams,
    idempotent: true,
    status: 201,
    otherStatuses: { 200: 'Joined before: the same position, with a fresh queue token' },
    response: s.QueueJoined,
  },
  queueStatus: {
    method: 'GET',
    path: '/schedules/{scheduleId}/queue',
    auth: 'customer',
    identityOnly: true,
    handler: waitingRoom('queueStatus'),
    needs: ['database', 'waitingRoomSecret'],
    summary: 'Where you stand in the waiting room, and your admission once admitted',
    params: s.ScheduleParams,
    headers: s.QueueTokenHeader,
    problems: {
      403: 'The Queue-Token is not yours, not for this schedule, forged or expired (`QUEUE_TOKEN_INVALID`): join again for a fresh one',
    },
    status: 200,
    response: s.QueueStatus,
  },

  joinWaitlist: {
    method: 'POST',
    path: '/schedules/{scheduleId}/waitlist',
    auth: 'customer',
    handler: waitlist('joinWaitlist'),
    needs: ['database', 'waitingRoomSecret'],
    summary: "Join a schedule's wait-list for seats that come free",
    params: s.ScheduleParams,
    body: s.JoinWaitlistBody,
    idempotent: true,
    // an offer is a sale: while the waiting room is on, only admitted fans may wait for one
    admission: true,
    problems: {
      403: "The schedule's waiting room is on: no `Admission-Token` (`ADMISSION_REQUIRED`), or an invalid one (`ADMISSION_INVALID`)",
      409: 'You already have a waiting or offered entry here (`ALREADY_WAITLISTED`); the wait-list is off (`WAITLIST_OFF`); the schedule is cancelled (`SCHEDULE_CANCELLED`), has started (`SCHEDULE_STARTED`) or is not on sale (`SALES_CLOSED`)',
      422: 'More seats than one order, or than your limit in this schedule with the seats you hold or own, allow (`SEAT_LIMIT_EXCEEDED`)',
    },
    status: 201,
    response: s.WaitlistEntry,
  },
  listMyWaitlist: {
    method: 'GET',
    path: '/me/waitlist',
    auth: 'customer',
    handler: waitlist('listMyWaitlist'),
    needs: ['database'],
    summary: 'Your wait-list entries, newest first, with their offers',
    query: s.PageQuery,
    status: 200,
    response: s.WaitlistPage,
  },
  getWaitlistEntry: {
    method: 'GET',
    path: '/waitlist/{id}',
    auth: 'customer',
    handler: waitlist('getWaitlistEntry'),
    needs: ['database'],
    summary: 'One of your wait-list entries',
    params: s.WaitlistEntryParams,
    status: 200,
    response: s.WaitlistEntry,
  },
  leaveWaitlist: {
    method: 'DELETE',
    path: '/waitlist/{id}',
    auth: 'customer',
    handler: waitlist('leaveWaitlist'),
    needs: ['database'],
    summary: 'Leave a wait-list (an offer not yet paid is declined: its seats pass to the next entry)',
    params: s.WaitlistEntryParams,
    problems: { 409: 'The offer was paid (`CONFLICT`): cancel its order instead' },
    status: 200,
    response: s.WaitlistEntry,
  },

  createOrder: {
    method: 'POST',
    path: '/orders',
    auth: 'customer',
    handler: orders('createOrder'),
    needs: ['database', 'waitingRoomSecret'],
    summary: 'Hold seats and create the order, all or nothing',
    body: s.CreateOrderBody,
    idempotent: true,
    admission: true,
    problems: {
      403: "The schedule's waiting room is on: no `Admission-Token` (`ADMISSION_REQUIRED`), or one that is expired, forged, or another fan's or schedule's (`ADMISSION_INVALID`)",
    },
    status: 201,
    response: s.Order,
  },
  getOrder: {
    method: 'GET',
    path: '/orders/{orderId}',
    auth: 'customer',
    handler: orders('getOrder'),
    needs: ['database'],
    summary: 'One of your orders',
    params: s.OrderParams,
    status: 200,
    response: s.Order,
  },
  listMyOrders: {
    method: 'GET',
    path: '/me/orders',
    auth: 'customer',
    handler: orders('listMyOrders'),
    needs: ['database'],
    summary: 'Your orders, newest first',
    query: s.PageQuery,
    status: 200,
    response: s.OrderPage,
  },
  startPayment: {
    method: 'POST',
    path: '/orders/{orderId}/payments',
    auth: 'customer',
    handler: orders('startPayment'),
    needs: ['database', 'gatewaySettings'],
    summary: 'Start paying for an order',
    params: s.OrderParams,
    body: s.StartPaymentBody,
    idempotent: true,
    status: 201,
    response: s.PaymentStarted,
  },
  confirmPayment: {
    method: 'POST',
    path: '/orders/{orderId}/payments/{paymentId}/confirm',
    auth: 'customer',
    handler: orders('confirmPayment'),
    needs: ['database', 'gatewaySettings', 'gatewaySecrets', 'internet'],
    summary: "Confirm a payment after the provider's redirect (toss, portone)",
    params: s.PaymentParams,
    body: s.ConfirmPaymentBody,
    bodyOptional: true,
    idempotent: true,
    status: 200,
    response: s.Order,
  },
  extendHold: {
    method: 'POST',
    path: '/orders/{orderId}/extend',
    auth: 'customer',
    handler: orders('extendHold'),
    needs: ['database'],
    summary: 'Extend a hold once, before payment starts (HOLD_EXTENSION_SECONDS)',
    params: s.OrderParams,
    body: s.ExtendHoldBody,
    bodyOptional: true,
    idempotent: true,
    status: 200,
    response: s.Order,
  },
  cancelOrder: {
    method: 'POST',
    path: '/orders/{orderId}/cancel',
    auth: 'customer',
    handler: orders('cancelOrder'),
    needs: ['database'],
    summary: 'Cancel an order or some of its items (paid items are refunded)',
    params: s.OrderParams,
    body: s.CancelOrderBody,
    bodyOptional: true,
    idempotent: true,
    status: 200,
    response: s.Order,
  },

  pgWebhook: {
    method: 'POST',
    path: '/webhooks/pg/{provider}',
    auth: 'webhook',
    handler: webhooks('receive'),
    needs: ['webhookSecret', 'gatewaySecrets', 'paymentQueue'],
    summary: 'Payment gateway callback (built-in signed format, Toss, PortOne)',
    params: s.ProviderParams,
    body: s.WebhookEvent,
    verifiesBody: true,
    status: 202,
    response: s.Accepted,
  },

  createConcert: {
    method: 'POST',
    path: '/admin/concerts',
    auth: 'admin',
    handler: admin('createConcert'),
    needs: ['database'],
    summary: 'Create a concert',
    body: s.CreateConcertBody,
    status: 201,
    response: s.AdminConcert,
  },
  updateConcert: {
    method: 'PATCH',
    path: '/admin/concerts/{id}',
    auth: 'admin',
    handler: admin('updateConcert'),
    needs: ['database'],
    summary: 'Update a concert (including isActive)',
    params: s.IdParams,
    body: s.UpdateConcertBody,
    status: 200,
    response: s.AdminConcert,
  },
  createVenue: {
    method: 'POST',
    path: '/admin/venues',
    auth: 'admin',
    handler: admin('createVenue'),
    needs: ['database'],
    summary: 'Create a venue and its seats in bulk',
    body: s.CreateVenueBody,
    maxBodyBytes: 1_048_576,
    status: 201,
    response: s.VenueCreated,
  },
  createSchedule: {
    method: 'POST',
    path: '/admin/schedules',
    auth: 'admin',
    handler: admin('createSchedule'),
    needs: ['database'],
    summary: 'Create a schedule and put its seats on sale',
    body: s.CreateScheduleBody,
    status: 201,
    response: s.AdminSchedule,
  },
  updateSchedule: {
    method: 'PATCH',
    path: '/admin/schedules/{id}',
    auth: 'admin',
    handler: admin('updateSchedule'),
    needs: ['database'],
    summary:
      'Open, close or cancel sales (cancelling refunds paid orders, in the background); turn the waiting room or the wait-list on or off',
    params: s.IdParams,
    body: s.UpdateScheduleBody,
    status: 200,
    otherStatuses: {
      202: 'Cancelled: sales stop at once; a background job cancels the unpaid orders and refunds the paid ones. `cancellation` shows how far it has got; sending the cancel again answers the same way with the progress then.',
    },
    response: s.AdminSchedule,
  },
  adminSeatMap: {
    method: 'GET',
    path: '/admin/schedules/{id}/seats',
    auth: 'admin',
    handler: admin('seatMap'),
    needs: ['database'],
    summary: 'Seat map with real statuses and order ids (large maps in pages)',
    params: s.IdParams,
    query: s.SeatMapQuery,
    status: 200,
    response: s.AdminSeatMap,
  },
  scheduleReport: {
    method: 'GET',
    path: '/admin/reports/schedules/{id}',
    auth: 'admin',
    handler: admin('scheduleReport'),
    needs: ['database'],
    summary: 'Seats by status, revenue, paid orders',
    params: s.IdParams,
    status: 200,
    response: s.ScheduleReport,
  },
  salesReport: {
    method: 'GET',
    path: '/admin/reports/sales',
    auth: 'admin',
    handler: admin('salesReport'),
    needs: ['database'],
    summary: 'Tickets and revenue by genre or artist',
    query: s.SalesQuery,
    status: 200,
    response: s.SalesReport,
  },
  reconciliation: {
    method: 'GET',
    path: '/admin/reports/reconciliation',
    auth: 'admin',
    handler: admin('reconciliation'),
    needs: ['database'],
    summary: 'Payments that need an operator',
    status: 200,
    response: s.Reconciliation,
  },

  devToken: {
    method: 'POST',
    path: '/dev/token',
    auth: 'local',
    handler: local('handler'),
    needs: [],
    summary: 'A JWT the local gateway accepts (local only)',
    body: s.DevTokenBody,
    status: 200,
    response: s.DevToken,
  },
} as const satisfies Record<string, RouteDef>;

export const routeEntries = Object.entries(routes) as [keyof typeof routes, RouteDef][];
/** What the CDK stack deploys. */
export const deployedRoutes = routeEntries.filter(([, r]) => r.auth !== 'local');
