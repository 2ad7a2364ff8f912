import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, invariantViolations, type Show } from '../test/fixtures';
import * as flows from '../test/gateway-flows';

/**
 * Paying through a real gateway's flow, end to end: the API, the simulator over HTTP (Toss's
 * window, confirm and webhooks; the built-in gateway), the payment queue, the outbox relay, the
 * refund queue and worker.
 */
let api: TestApi;
let show: Show;
let fan: string;
let dealSeats: (n: number) => number[];

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '1000' });
  show = await createShow(api.sql, { rows: 10, seatsPerRow: 20, price: 15000 });
  fan = await api.token('checkout-fan');
  dealSeats = flows.seatDealer(show);
});
afterAll(async () => {
  await api.settle();
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

const startPayment = (provider: string, n = 2) =>
  flows.startPayment(api, { token: fan, scheduleId: show.scheduleId, seatIds: dealSeats(n), provider });
const confirm = (orderId: number, paymentId: number, body: unknown) =>
  api.request('POST', `/orders/${orderId}/payments/${paymentId}/confirm`, { token: fan, body });
const calls = (key: string) => api.simulator.state.counts.calls[key] ?? 0;
const fault = (paymentRef: string, ...modes: string[]) => api.simulator.setFaults(paymentRef, modes as never);

describe('toss: window → redirect → confirm', () => {
  it('gives the checkout data for the Toss SDK and books the seats on confirm', async () => {
    const { orderId, payment } = await startPayment('toss');
    expect(payment.checkout).toEqual({
      clientKey: expect.any(String),
      orderId: expect.stringMatching(/^[A-Za-z0-9_-]{6,64}$/),
      orderName: expect.stringContaining('(2 seats)'),
      amount: 30000,
      customerKey: expect.stringMatching(/^cust_[0-9a-f]{32}$/),
    });
    const redirect = await flows.approveInTossWindow(api, payment.checkout);

    const res = await confirm(orderId, payment.id, redirect);

    expect(res.status).toBe(200);
    expect(res.body.status).toBe('paid');
    expect(res.body.payments[0]).toMatchObject({
      provider: 'toss',
      status: 'success',
      pgTid: redirect.paymentKey,
    });
    expect(await flows.seatStatuses(api, orderId)).toEqual(['booked', 'booked']);
    // Toss's PAYMENT_STATUS_CHANGED follows; fetched and applied, it changes nothing
    await api.settle();
    const [paid] =
      await api.sql`select count(*)::int as n from outbox where detail_type = 'order.paid' and (detail->>'orderId')::bigint = ${orderId}`;
    expect(paid!.n).toBe(1);
    expect(calls('toss fetch')).toBeGreaterThan(0);
  });

  it('applies a payment once when the confirm, a repeated confirm and the webhook race', async () => {
    const { orderId, payment } = await startPayment('toss');
    fault(payment.checkout.orderId, 'duplicateWebhook');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);

    const [first, second] = await Promise.all([
      confirm(orderId, payment.id, redirect),
      confirm(orderId, payment.id, redirect),
      api.settle(),
    ]);

    expect([first, second].map((r) => [r.status, r.body.status])).toEqual([
      [200, 'paid'],
      [200, 'paid'],
    ]);
    await api.settle();
    const events =
      await api.sql`select type, outcome from webhook_events where payment_id = ${payment.id} order by id`;
    expect(events.map((e) => e.outcome)).toEqual(['paid']);
  });

  it('refuses a confirm whose amount is not the payment’s, without asking Toss', async () => {
    const { orderId, payment } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    const before = calls('toss confirm');

    const res = await confirm(orderId, payment.id, { ...redirect, amount: '1.00' });

    expect([res.status, res.body.code]).toEqual([422, 'AMOUNT_MISMATCH']);
    expect(calls('toss confirm')).toBe(before);
    expect((await confirm(orderId, payment.id, {})).status).toBe(400);
  });

  it('answers 402 with Toss’s code for a declined card and puts the seats back on sale', async () => {
    const { orderId, payment } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    fault(payment.checkout.orderId, 'decline');

    const res = await confirm(orderId, payment.id, redirect);

    expect([res.status, res.body.code, typeof res.body.gatewayCode]).toEqual([
      402,
      'PAYMENT_DECLINED',
      'string',
    ]);
    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;
    expect([order.status, order.payments[0].status]).toEqual(['cancelled', 'fail']);
    expect(await flows.seatStatuses(api, orderId)).toEqual(['available', 'available']);
  });

  it('answers 503 while Toss does not answer, changes nothing, and confirms once it does', async () => {
    const { orderId, payment } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    fault(payment.checkout.orderId, 'error500');
    const before = calls('toss confirm');

    const down = await confirm(orderId, payment.id, redirect);

    expect([down.status, down.body.code]).toEqual([503, 'GATEWAY_UNAVAILABLE']);
    expect(calls('toss confirm') - before).toBe(3);
    expect((await api.request('GET', `/orders/${orderId}`, { token: fan })).body.status).toBe(
      'awaiting_payment',
    );
    fault(payment.checkout.orderId);
    const up = await confirm(orderId, payment.id, redirect);
    expect([up.status, up.body.status]).toEqual([200, 'paid']);
  });

  it('does not capture the money of an order whose hold has lapsed', async () => {
    const { orderId, payment } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
    const before = calls('toss confirm');

    const res = await confirm(orderId, payment.id, redirect);

    expect([res.status, res.body.code]).toEqual([409, 'ORDER_EXPIRED']);
    expect(calls('toss confirm')).toBe(before);
  });

  it('has nothing to confirm for the built-in gateway, and hides other fans’ payments', async () => {
    const { orderId, payment } = await startPayment('card');
    expect(payment.checkout).toMatchObject({ paymentId: payment.id, amount: '30000.00' });

    const res = await confirm(orderId, payment.id, {});
    const stranger = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: await api.token('someone-else'),
      body: {},
    });

    expect([res.status, res.body.code]).toEqual([409, 'CONFIRM_NOT_SUPPORTED']);
    expect(stranger.status).toBe(404);
  });
});

describe('portone: window → webhook → fetch', () => {
  it('gives the checkout data for PortOne.requestPayment and books on its (verified, fetched) webhook', async () => {
    const { orderId, payment } = await startPayment('portone');
    expect(payment.checkout).toEqual({
      storeId: expect.any(String),
      channelKey: expect.any(String),
      paymentId: expect.stringMatching(/^[A-Za-z0-9_-]{6,64}$/),
      orderName: expect.stringContaining('(2 seats)'),
      totalAmount: 30000,
      currency: 'KRW',
    });
    const before = calls('portone fetch');

    await flows.payInPortOneWindow(api, payment.checkout);
    await api.settle();

    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;
    expect([order.status, order.payments[0].status]).toEqual(['paid', 'success']);
    // the webhook named the payment; what was applied came from asking PortOne
    expect(calls('portone fetch')).toBeGreaterThan(before);
    // the confirm call after the redirect finds it applied and answers the order
    const confirmed = await confirm(orderId, payment.id, {});
    expect([confirmed.status, confirmed.body.status]).toEqual([200, 'paid']);
  });

  it('confirms before the webhook arrives, and the late webhook changes nothing', async () => {
    const { orderId, payment } = await startPayment('portone');
    fault(payment.checkout.paymentId, 'lateWebhook');
    api.simulator.state.lateWebhookMs = 300;

    await flows.payInPortOneWindow(api, payment.checkout);
    const confirmed = await confirm(orderId, payment.id, {});
    await api.settle();

    expect([confirmed.status, confirmed.body.status]).toEqual([200, 'paid']);
    const events =
      await api.sql`select outcome from webhook_events where payment_id = ${payment.id} order by id`;
    expect(events.map((e) => e.outcome)).toEqual(['paid']);
  });

  it('refuses a webhook with a bad signature (401) and queues nothing', async () => {
    const body = JSON.stringify({
      type: 'Transaction.Paid',
      timestamp: new Date().toISOString(),
      data: { paymentId: 'pay_x', storeId: 's', transactionId: 't' },
    });
    const res = await api.request('POST', '/webhooks/pg/portone', {
      rawBody: body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,AAAA',
      },
    });
    expect([res.status, res.body.code, api.queue.depth]).toEqual([401, 'INVALID_SIGNATURE', 0]);
  });

  it('answers 402 for a payment PortOne reports failed and puts the seats back', async () => {
    const { orderId, payment } = await startPayment('portone');
    await flows.payInPortOneWindow(api, payment.checkout, { decision: 'decline' });
    fault(payment.checkout.paymentId, 'noWebhook');

    const res = await confirm(orderId, payment.id, {});

    expect([res.status, res.body.code]).toEqual([402, 'PAYMENT_DECLINED']);
    expect(await flows.seatStatuses(api, orderId)).toEqual(['available', 'available']);
  });

  it('sends the refund of a cancelled PortOne order once', async () => {
    const { orderId, payment } = await startPayment('portone');
    await flows.payInPortOneWindow(api, payment.checkout);
    await api.settle();
    fault(payment.checkout.paymentId, 'refundLosesAnswer');
    const before = api.simulator.state.counts.refundsExecuted.portone ?? 0;

    await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    await api.settle();

    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;
    expect([order.status, order.payments.at(-1).refundStatus]).toEqual(['refunded', 'sent']);
    expect((api.simulator.state.counts.refundsExecuted.portone ?? 0) - before).toBe(1);
  });
});

describe('refunds are executed', () => {
  async function paidTossOrder() {
    const { orderId, payment, seatIds } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    expect((await confirm(orderId, payment.id, redirect)).body.status).toBe('paid');
    return { orderId, payment, seatIds };
  }
  const refundRows = async (orderId: number) =>
    (await api.request('GET', `/orders/${orderId}`, { token: fan })).body.payments.filter(
      (p: { status: string }) => p.status === 'refund',
    );
  const executed = (provider: string) => api.simulator.state.counts.refundsExecuted[provider] ?? 0;

  it('sends a cancelled order’s refund to Toss once: refundStatus sent, refundedAt set', async () => {
    const { orderId, payment } = await paidTossOrder();
    const before = executed('toss');

    const cancelled = await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    expect(cancelled.body.payments.at(-1)).toMatchObject({
      status: 'refund',
      refundStatus: 'requested',
      refundOf: payment.id,
    });
    await api.settle();

    const [refund] = await refundRows(orderId);
    expect(refund).toMatchObject({
      amount: '30000.00',
      refundStatus: 'sent',
      refundedAt: expect.any(String),
    });
    expect(executed('toss') - before).toBe(1);
    const atToss = api.simulator.state.payments.get(payment.checkout.orderId)!;
    expect(atToss.status).toBe('cancelled');
  });

  it('sends a partial refund for the partial amount', async () => {
    const { orderId, payment } = await paidTossOrder();
    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;

    await api.request('POST', `/orders/${orderId}/cancel`, {
      token: fan,
      body: { itemIds: [order.items[0].id] },
    });
    await api.settle();

    expect(
      (await refundRows(orderId)).map((r: { amount: string; refundStatus: string }) => [
        r.amount,
        r.refundStatus,
      ]),
    ).toEqual([['15000.00', 'sent']]);
    const atToss = api.simulator.state.payments.get(payment.checkout.orderId)!;
    expect(atToss.cancels.map((c) => c.amount)).toEqual([15000]);
  });

  it('executes a refund once when the gateway fails twice, or loses its answer', async () => {
    for (const mode of ['refundFailsTwice', 'refundLosesAnswer']) {
      const { orderId, payment } = await paidTossOrder();
      fault(payment.checkout.orderId, mode);
      const before = executed('toss');

      await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
      await api.settle();

      expect([mode, (await refundRows(orderId))[0].refundStatus]).toEqual([mode, 'sent']);
      expect([mode, executed('toss') - before]).toEqual([mode, 1]);
    }
  });

  it('gives up after the retries: failed, in the reconciliation report, announced', async () => {
    const { orderId, payment } = await paidTossOrder();
    fault(payment.checkout.orderId, 'error500');

    await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    await api.settle();

    const [refund] = await refundRows(orderId);
    expect(refund.refundStatus).toBe('failed');
    const [row] =
      await api.sql`select refund_attempts as attempts, refund_error as error from payments where id = ${refund.id}`;
    expect(row!.attempts).toBe(5);
    expect(row!.error).toMatch(/unavailable/);
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    expect(recon.body.failedRefunds).toContainEqual(
      expect.objectContaining({ paymentId: refund.id, attempts: 5 }),
    );
    expect(api.published.map((e) => e.detailType)).toContain('refund.failed');
  });

  it('sends a built-in (card) refund to the built-in gateway', async () => {
    const { orderId, payment } = await startPayment('card');
    await api.webhook('card', {
      eventId: `evt-card-${payment.id}`,
      type: 'payment.succeeded',
      paymentId: payment.id,
      pgTid: `tid-${payment.id}`,
      amount: payment.amount,
      occurredAt: new Date().toISOString(),
    });
    await api.settle();
    const before = executed('builtin');

    await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    await api.settle();

    expect((await refundRows(orderId))[0]).toMatchObject({ refundStatus: 'sent' });
    expect(executed('builtin') - before).toBe(1);
  });
});
