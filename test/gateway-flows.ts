import { expect } from 'vitest';
import type { TestApi } from './api';
import { refundViolations, type Show } from './fixtures';

/**
 * What a fan and a gateway do around a payment, as the tests of the money path play it: open an
 * order and a payment through the API, approve in the provider's window (the simulator's pages,
 * over HTTP), cancel in the gateway's console — and the reads those tests make of the database.
 */
export type Provider = 'toss' | 'portone' | 'card';

/** Hands out a show's seats in order, so each test of a file books seats no other test touched. */
export function seatDealer(show: Show) {
  let next = 0;
  return (n: number) => {
    const seatIds = show.seatIds.slice(next, next + n);
    next += n;
    return seatIds;
  };
}

/** An order of the given seats with a started payment (the answer of POST /orders/{id}/payments). */
export async function startPayment(
  api: TestApi,
  input: { token: string; scheduleId: number; seatIds: number[]; provider: string },
) {
  const order = await api.request('POST', '/orders', {
    token: input.token,
    body: { scheduleId: input.scheduleId, seatIds: input.seatIds },
  });
  expect(order.status).toBe(201);
  const payment = await api.request('POST', `/orders/${order.body.id}/payments`, {
    token: input.token,
    body: { provider: input.provider },
  });
  expect(payment.status).toBe(201);
  return { orderId: order.body.id as number, payment: payment.body, seatIds: input.seatIds };
}

/** The buyer approves in Toss's window; Toss redirects to the success URL with what confirm needs. */
export async function approveInTossWindow(api: TestApi, checkout: Record<string, unknown>) {
  const res = await fetch(`${api.simulator.url}/checkout/toss/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...checkout,
      successUrl: 'https://app.test/success',
      failUrl: 'https://app.test/fail',
    }),
    redirect: 'manual',
  });
  const back = new URL(res.headers.get('location')!);
  expect(back.pathname).toBe('/success');
  return { paymentKey: back.searchParams.get('paymentKey')!, amount: back.searchParams.get('amount')! };
}

/** The buyer decides in PortOne's window: PortOne sends its webhook and redirects (returned). */
export async function payInPortOneWindow(
  api: TestApi,
  checkout: Record<string, unknown>,
  options: { decision?: 'approve' | 'decline'; overrides?: Record<string, string> } = {},
) {
  const query = new URLSearchParams({
    ...Object.fromEntries(Object.entries(checkout).map(([k, v]) => [k, String(v)])),
    redirectUrl: 'https://app.test/done',
    ...options.overrides,
  });
  expect((await fetch(`${api.simulator.url}/checkout/portone?${query}`)).status).toBe(200);
  const res = await fetch(`${api.simulator.url}/checkout/portone`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      paymentId: String(checkout.paymentId),
      decision: options.decision ?? 'approve',
    }).toString(),
    redirect: 'manual',
  });
  return new URL(res.headers.get('location')!);
}

/** A cancel made at the gateway on its own (its merchant console); the gateway's webhook follows. */
export async function cancelAtGateway(api: TestApi, paymentRef: string, amount?: number) {
  const res = await fetch(`${api.simulator.url}/_sim/payments/${paymentRef}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(amount === undefined ? {} : { amount }),
  });
  expect(res.status).toBe(200);
}

let eventSeq = 0;
/** A built-in gateway's signed webhook body (`payment.succeeded` unless told otherwise). */
export const signedEvent = (
  paymentId: number,
  amount: string,
  type = 'payment.succeeded',
  eventId = `evt-${++eventSeq}`,
) => ({ eventId, type, paymentId, pgTid: `tid-${paymentId}`, amount, occurredAt: new Date().toISOString() });

export const seatStatuses = async (api: TestApi, orderId: number) =>
  (
    await api.sql`select status from schedule_seats where id in (select schedule_seat_id from order_items where order_id = ${orderId}) order by id`
  ).map((r) => r.status as string);

/** The refunds of a payment, oldest first. */
export const refundsOf = (api: TestApi, paymentId: number) =>
  api.sql<{ id: number; amount: string; status: string; error: string | null }[]>`
    select id, amount::text, refund_status as status, refund_error as error
    from payments where refund_of = ${paymentId} order by id`;

/** The reference the gateway knows a payment by. */
export const publicIdOf = async (api: TestApi, paymentId: number) =>
  (await api.sql<{ ref: string }[]>`select public_id as ref from payments where id = ${paymentId}`)[0]!.ref;

/**
 * One fan's way through the money path in a test file: orders paid through each provider's own
 * flow, the order as the fan reads it, cancels, and the refund invariant for one payment.
 */
export function fanMoneyFlows(api: TestApi, token: string, show: Show) {
  const dealSeats = seatDealer(show);
  const getOrder = async (orderId: number) =>
    (await api.request('GET', `/orders/${orderId}`, { token })).body;

  /** An order of `n` seats paid through the provider's own flow, everything settled. */
  async function paidOrder(provider: Provider, n = 2) {
    const { orderId, payment } = await startPayment(api, {
      token,
      scheduleId: show.scheduleId,
      seatIds: dealSeats(n),
      provider,
    });
    if (provider === 'toss') {
      await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
        token,
        body: await approveInTossWindow(api, payment.checkout),
      });
    } else if (provider === 'portone') await payInPortOneWindow(api, payment.checkout);
    else await api.webhook(provider, signedEvent(payment.id, payment.amount));
    await api.settle();
    const view = await getOrder(orderId);
    expect(view.status).toBe('paid');
    return { orderId, paymentId: payment.id as number, ref: await publicIdOf(api, payment.id), view };
  }

  /** The fan cancels some items of the order (all when none are named): a refund is requested. */
  const cancelItems = (orderId: number, itemIds?: number[]) =>
    api.request('POST', `/orders/${orderId}/cancel`, { token, ...(itemIds ? { body: { itemIds } } : {}) });

  /** refundViolations, for this payment only (other tests' payments have their own). */
  async function refundViolationsOf(paymentRef: string) {
    const all = (await refundViolations(api.sql, api.simulator.state)) as Record<
      string,
      { paymentRef?: string }[]
    >;
    return (all.gatewayAndUsDisagree ?? []).filter((p) => p.paymentRef === paymentRef);
  }

  return { paidOrder, getOrder, cancelItems, refundViolationsOf };
}
