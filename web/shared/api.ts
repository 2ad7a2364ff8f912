import type * as z from 'zod/mini';
import type * as s from '../../functions/schemas';

/**
 * The API as the browser calls it: same origin (the local server, or CloudFront in front of API
 * Gateway), the server's own zod contract for the types (type-only: no schema code in the bundle),
 * RFC 9457 problems thrown as ApiError, an Idempotency-Key on every POST of a fan.
 */
export type Concert = z.output<typeof s.Concert>;
export type ConcertDetail = z.output<typeof s.ConcertDetail>;
export type ConcertQuery = Partial<z.output<typeof s.ConcertQuery>>;
export type Schedule = z.output<typeof s.Schedule>;
export type Availability = z.output<typeof s.Availability>;
export type VenueLayout = z.output<typeof s.VenueLayout>;
export type SeatStatus = z.output<typeof s.SeatStatus>;
export type CreateOrder = z.input<typeof s.CreateOrderBody>;
export type Order = z.output<typeof s.Order>;
export type OrderItem = Order['items'][number];
export type Payment = z.output<typeof s.Payment>;
export type Provider = z.output<typeof s.Provider>;
export type PaymentStarted = z.output<typeof s.PaymentStarted>;
export type ConfirmPayment = z.input<typeof s.ConfirmPaymentBody>;
export type JoinWaitlist = z.input<typeof s.JoinWaitlistBody>;
export type WaitlistEntry = z.output<typeof s.WaitlistEntry>;
export type QueueJoined = z.output<typeof s.QueueJoined>;
export type QueueStatus = z.output<typeof s.QueueStatus>;
export type DevTokenRequest = z.input<typeof s.DevTokenBody>;
export type Problem = z.output<typeof s.Problem>;
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    /** The whole problem document: SEAT_UNAVAILABLE carries `seatIds`, validation errors their fields. */
    readonly problem: Record<string, unknown>,
  ) {
    super(detail || code);
  }
  /** The seats a SEAT_UNAVAILABLE names. */
  get seatIds(): number[] {
    const ids = this.problem.seatIds;
    return Array.isArray(ids) ? ids.filter((id): id is number => typeof id === 'number') : [];
  }
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Sends the signed-in user's token (default for everything but public reads). */
  auth?: boolean;
  signal?: AbortSignal;
}

type TokenSource = () => string | undefined;
let tokenOf: TokenSource = () => undefined;
let onUnauthorized: () => void = () => {};

/** The session module tells the client where the token is and what to do when it is refused. */
export function useTokenSource(source: TokenSource, unauthorized: () => void): void {
  tokenOf = source;
  onUnauthorized = unauthorized;
}

/** One request: JSON in and out, a problem document thrown as ApiError. */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function send(method: string, path: string, options: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.auth !== false) {
    const token = tokenOf();
    if (token) headers.authorization = `Bearer ${token}`;
  }
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST') headers['idempotency-key'] ??= crypto.randomUUID();
  const response = await fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (response.ok || response.status === 304) return response;
  const problem = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status === 401 && options.auth !== false) onUnauthorized();
  throw new ApiError(
    response.status,
    typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`,
    typeof problem.detail === 'string' ? problem.detail : response.statusText,
    problem,
  );
}

const query = (params: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** A conditional GET's outcome: unchanged (304) or a new body with its tag. */
export type Conditional<T> = { changed: false } | { changed: true; etag: string | undefined; body: T };

async function conditional<T>(path: string, etag: string | undefined): Promise<Conditional<T>> {
  const response = await send('GET', path, {
    auth: false,
    headers: etag ? { 'if-none-match': etag } : {},
  });
  if (response.status === 304) return { changed: false };
  return {
    changed: true,
    etag: response.headers.get('etag') ?? undefined,
    body: (await response.json()) as T,
  };
}

const layouts = new Map<number, Promise<VenueLayout>>();

export const api = {
  listConcerts: (q: ConcertQuery = {}) => call<Page<Concert>>('GET', `/concerts${query(q)}`, { auth: false }),
  getConcert: (id: number) => call<ConcertDetail>('GET', `/concerts/${id}`, { auth: false }),
  getSchedule: (id: number) => call<Schedule>('GET', `/schedules/${id}`, { auth: false }),
  getAvailability: (id: number) =>
    call<Availability>('GET', `/schedules/${id}/availability`, { auth: false }),
  /** Static per venue: fetched once per page load. */
  getLayout(venueId: number): Promise<VenueLayout> {
    let layout = layouts.get(venueId);
    if (!layout) {
      layout = call<VenueLayout>('GET', `/venues/${venueId}/layout`, { auth: false });
      layout.catch(() => layouts.delete(venueId));
      layouts.set(venueId, layout);
    }
    return layout;
  },
  getSeatStatus: (scheduleId: number, etag?: string) =>
    conditional<SeatStatus>(`/schedules/${scheduleId}/seat-status`, etag),

  createOrder: (body: CreateOrder, admissionToken?: string) =>
    call<Order>('POST', '/orders', {
      body,
      headers: admissionToken ? { 'admission-token': admissionToken } : {},
    }),
  getOrder: (id: number) => call<Order>('GET', `/orders/${id}`),
  listMyOrders: (cursor?: string) => call<Page<Order>>('GET', `/me/orders${query({ cursor })}`),
  startPayment: (orderId: number, provider: Provider) =>
    call<PaymentStarted>('POST', `/orders/${orderId}/payments`, { body: { provider } }),
  confirmPayment: (orderId: number, paymentId: number, body: ConfirmPayment) =>
    call<Order>('POST', `/orders/${orderId}/payments/${paymentId}/confirm`, { body }),
  extendHold: (orderId: number) => call<Order>('POST', `/orders/${orderId}/extend`, { body: {} }),
  cancelOrder: (orderId: number, itemIds?: number[]) =>
    call<Order>('POST', `/orders/${orderId}/cancel`, { body: itemIds ? { itemIds } : {} }),

  joinQueue: (scheduleId: number) => call<QueueJoined>('POST', `/schedules/${scheduleId}/queue`),
  queueStatus: (scheduleId: number, queueToken: string) =>
    call<QueueStatus>('GET', `/schedules/${scheduleId}/queue`, { headers: { 'queue-token': queueToken } }),

  joinWaitlist: (scheduleId: number, body: JoinWaitlist) =>
    call<WaitlistEntry>('POST', `/schedules/${scheduleId}/waitlist`, { body }),
  listMyWaitlist: (cursor?: string) => call<Page<WaitlistEntry>>('GET', `/me/waitlist${query({ cursor })}`),
  /** Leaves the wait-list; an offer not yet paid is declined. */
  leaveWaitlist: (id: number) => call<WaitlistEntry>('DELETE', `/waitlist/${id}`),

  /** Local only: the server answers 404 where it is not deployed. */
  devToken: (body: DevTokenRequest) => call<{ token: string }>('POST', '/dev/token', { body, auth: false }),
};
