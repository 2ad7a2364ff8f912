import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayFor } from '../functions/adapters/gateways';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, invariantViolations, type Show } from '../test/fixtures';
import * as flows from '../test/gateway-flows';
import { checkClosedAttempts, confirmPayment } from './checkout';
import { cancelOrder } from './orders';
import { refundIdempotencyKey, sendRefund } from './refunds';
import { sweep } from './sweeper';

/**
 * The adversarial review of the money path (issue 14): each sequence broke a promise before its fix
 * (the reviewer's tests proved the break; these assert the promise).
 */
let api: TestApi;
let show: Show;
let fan: string;
let other: string;
let dealSeats: (n: number) => number[];

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '1000' });
  show = await createShow(api.sql, { rows: 10, seatsPerRow: 20, price: 15000 });
  fan = await api.token('review-fan');
  other = await api.token('review-other');
  dealSeats = flows.seatDealer(show);
});
afterAll(async () => {
  await api.settle();
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

const startPayment = (provider: string, n = 2, token = fan) =>
  flows.startPayment(api, { token, scheduleId: show.scheduleId, seatIds: dealSeats(n), provider });
const fault = (ref: string, ...modes: string[]) => api.simulator.setFaults(ref, modes as never);
const lapse = (orderId: number) => api.sql`
  with o as (update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId} returning id)
  update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;

describe('a confirm sent with an Idempotency-Key keeps what it applied', () => {
  it('PortOne: a late success whose seats are gone is refunded, and the refund stays', async () => {
    const { orderId, payment, seatIds } = await startPayment('portone');
    fault(payment.checkout.paymentId, 'noWebhook');
    await flows.payInPortOneWindow(api, payment.checkout);
    await lapse(orderId);
    const taken = await api.request('POST', '/orders', {
      token: other,
      body: { scheduleId: show.scheduleId, seatIds },
    });
    expect(taken.status).toBe(201);

    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: {},
      headers: { 'idempotency-key': `k-${payment.id}` },
    });
    await api.settle();

    expect([res.status, res.body.code]).toEqual([409, 'ORDER_EXPIRED']);
    expect((await flows.refundsOf(api, payment.id)).map((r) => [r.amount, r.status])).toEqual([
      ['30000.00', 'sent'],
    ]);
    expect(api.simulator.state.payments.get(payment.checkout.paymentId)!.status).toBe('cancelled');
    // the same key answers the same again, and does nothing twice
    const again = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: {},
      headers: { 'idempotency-key': `k-${payment.id}` },
    });
    expect([again.status, again.body.code]).toEqual([409, 'ORDER_EXPIRED']);
    expect(await flows.refundsOf(api, payment.id)).toHaveLength(1);
  });

  it('PortOne: a wrong-amount charge is refunded (what it charged), answered 422', async () => {
    const { orderId, payment } = await startPayment('portone');
    fault(payment.checkout.paymentId, 'noWebhook');
    await flows.payInPortOneWindow(api, payment.checkout, { overrides: { totalAmount: '29000' } });

    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: {},
      headers: { 'idempotency-key': `k-${payment.id}` },
    });
    await api.settle();

    expect([res.status, res.body.code]).toEqual([422, 'AMOUNT_MISMATCH']);
    // PortOne's own balance is what the refund is checked against: it goes through
    expect((await flows.refundsOf(api, payment.id)).map((r) => [r.amount, r.status])).toEqual([
      ['29000.00', 'sent'],
    ]);
  });

  it('Toss: the customer cancels while the confirm is in flight; the captured money is refunded', async () => {
    const { orderId, payment } = await startPayment('toss');
    fault(payment.checkout.orderId, 'noWebhook');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    const fanId = (await api.sql`select user_id as id from orders where id = ${orderId}`)[0]!.id as number;
    const racing = async (provider: Parameters<typeof gatewayFor>[0]) => {
      const real = await gatewayFor(provider);
      return {
        ...real,
        confirm: async (r: Parameters<typeof real.confirm>[0]) => {
          const captured = await real.confirm(r);
          await cancelOrder(api.sql, { id: fanId, isAdmin: false }, orderId);
          return captured;
        },
      };
    };

    const error = await confirmPayment(
      api.sql,
      { id: fanId, isAdmin: false },
      orderId,
      payment.id,
      redirect,
      racing,
    ).catch((e) => e);
    await api.settle();

    expect(error.code).toBe('ORDER_EXPIRED');
    expect((await flows.refundsOf(api, payment.id)).map((r) => [r.amount, r.status])).toEqual([
      ['30000.00', 'sent'],
    ]);
  });

  it('Toss: a decline answers 402 and the seats go back', async () => {
    const { orderId, payment } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    fault(payment.checkout.orderId, 'decline', 'noWebhook');

    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: redirect,
      headers: { 'idempotency-key': `k-${payment.id}` },
    });

    expect(res.status).toBe(402);
    const [o] = await api.sql`select status from orders where id = ${orderId}`;
    expect(o!.status).toBe('cancelled');
  });
});

describe('PortOne refunds of one payment', () => {
  async function paidPortOne() {
    const { orderId, payment } = await startPayment('portone');
    await flows.payInPortOneWindow(api, payment.checkout);
    await api.settle();
    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;
    expect(order.status).toBe('paid');
    return { orderId, payment, order };
  }

  it('two partial refunds sent at once both go through', async () => {
    const { orderId, payment, order } = await paidPortOne();
    for (const item of order.items)
      await api.request('POST', `/orders/${orderId}/cancel`, { token: fan, body: { itemIds: [item.id] } });
    const [r1, r2] = await flows.refundsOf(api, payment.id);
    await Promise.all(Array.from({ length: 8 }, () => api.sql`select pg_sleep(0.05)`));

    await Promise.all([sendRefund(api.sql, r1!.id, gatewayFor), sendRefund(api.sql, r2!.id, gatewayFor)]);
    await api.settle();

    expect((await flows.refundsOf(api, payment.id)).map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(api.simulator.state.payments.get(payment.checkout.paymentId)!.status).toBe('cancelled');
  });

  it('an earlier refund executed but not yet recorded does not stop the next, nor run twice', async () => {
    const { orderId, payment, order } = await paidPortOne();
    await api.request('POST', `/orders/${orderId}/cancel`, {
      token: fan,
      body: { itemIds: [order.items[0].id] },
    });
    await api.request('POST', `/orders/${orderId}/cancel`, {
      token: fan,
      body: { itemIds: [order.items[1].id] },
    });
    const [r1, r2] = await flows.refundsOf(api, payment.id);
    // the worker sending R1 dies after PortOne executed it, before recording 'sent'
    const portone = await gatewayFor('portone');
    await portone.cancel({
      paymentRef: payment.checkout.paymentId,
      pgTid: null,
      amount: '15000.00',
      reason: `Refund ${r1!.id}`,
      idempotencyKey: refundIdempotencyKey({ id: r1!.id, paymentRef: payment.checkout.paymentId }),
    });

    expect((await sendRefund(api.sql, r2!.id, gatewayFor)).outcome).toBe('sent');
    await api.settle();

    expect((await flows.refundsOf(api, payment.id)).map((r) => r.status)).toEqual(['sent', 'sent']);
    const atPortOne = api.simulator.state.payments.get(payment.checkout.paymentId)!;
    expect(atPortOne.cancels.map((c) => c.amount)).toEqual([15000, 15000]);
  });
});

describe('a gateway-side cancel of a duplicate payment', () => {
  it('settles the duplicate and leaves the tickets another payment paid for', async () => {
    const { orderId, payment: portone } = await startPayment('portone');
    const card = (
      await api.request('POST', `/orders/${orderId}/payments`, { token: fan, body: { provider: 'card' } })
    ).body;
    await api.webhook('card', {
      eventId: `evt-dup-${card.id}`,
      type: 'payment.succeeded',
      paymentId: card.id,
      pgTid: `tid-${card.id}`,
      amount: card.amount,
      occurredAt: new Date().toISOString(),
    });
    await api.settle();
    fault(portone.checkout.paymentId, 'error500');
    await flows.payInPortOneWindow(api, portone.checkout);
    fault(portone.checkout.paymentId, 'noWebhook');
    await api.request('POST', `/orders/${orderId}/payments/${portone.id}/confirm`, { token: fan, body: {} });
    fault(portone.checkout.paymentId, 'error500');
    await api.settle();
    expect((await flows.refundsOf(api, portone.id)).map((r) => r.status)).toEqual(['failed']);
    // the operator sees the failed refund and cancels the duplicate in PortOne's console
    fault(portone.checkout.paymentId);
    const cancel = await fetch(`${api.simulator.url}/payments/${portone.checkout.paymentId}/cancel`, {
      method: 'POST',
      headers: { authorization: 'PortOne test-portone-api-secret', 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'duplicate charge' }),
    });
    expect(cancel.status).toBe(200);
    await api.settle();

    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;
    expect([order.status, order.items.map((i: { status: string }) => i.status)]).toEqual([
      'paid',
      ['booked', 'booked'],
    ]);
    expect(await flows.refundsOf(api, card.id)).toEqual([]);
    // the refund we gave up on is the one the operator made: settled, not counted twice
    expect((await flows.refundsOf(api, portone.id)).map((r) => [r.amount, r.status])).toEqual([
      ['30000.00', 'sent'],
    ]);
  });
});

describe('client mistakes are 4xx, and only the gateway refuses a refund for good', () => {
  it('a Toss confirm with a made-up paymentKey is a 422 and changes nothing', async () => {
    const { orderId, payment } = await startPayment('toss');
    await flows.approveInTossWindow(api, payment.checkout);
    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: { paymentKey: 'not-a-real-key', amount: payment.amount },
    });
    expect([res.status, res.body.code]).toEqual([422, 'PAYMENT_NOT_CONFIRMED']);
    const [o] = await api.sql`select status from orders where id = ${orderId}`;
    expect(o!.status).toBe('awaiting_payment');
  });

  it('a PortOne confirm before paying is a 422', async () => {
    const { orderId, payment } = await startPayment('portone');
    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: {},
    });
    expect([res.status, res.body.code]).toEqual([422, 'PAYMENT_NOT_CONFIRMED']);
  });

  it('a refund whose gateway secret cannot be read now is tried again', async () => {
    const { orderId, payment } = await startPayment('portone');
    await flows.payInPortOneWindow(api, payment.checkout);
    await api.settle();
    await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    const [r] = await flows.refundsOf(api, payment.id);
    const res = await sendRefund(api.sql, r!.id, async () => {
      throw new Error('ThrottlingException: Rate exceeded');
    });
    expect(res.outcome).toBe('retry');
    // the worker hands it back to the queue; the next delivery sends it
    await api.settle();
    expect((await flows.refundsOf(api, payment.id)).map((x) => x.status)).toEqual(['sent']);
  });
});

describe('money taken while we heard nothing', () => {
  it('Toss captured during a timeout, webhook lost: the closing check finds it and books the seats', async () => {
    const { orderId, payment } = await startPayment('toss');
    const redirect = await flows.approveInTossWindow(api, payment.checkout);
    fault(payment.checkout.orderId, 'timeout', 'noWebhook');
    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: redirect,
    });
    expect([res.status, res.body.code]).toEqual([503, 'GATEWAY_UNAVAILABLE']);
    await new Promise((r) => setTimeout(r, 2000));
    expect(api.simulator.state.payments.get(payment.checkout.orderId)!.status).toBe('paid');
    await lapse(orderId);
    await sweep(api.sql);
    fault(payment.checkout.orderId, 'noWebhook');
    // closed a while ago, and no word from Toss since
    await api.sql`update payments set updated_at = now() - interval '5 min' where id = ${payment.id}`;

    const checked = await checkClosedAttempts(api.sql, gatewayFor);
    await api.settle();

    expect(checked.applied).toBeGreaterThanOrEqual(1);
    const order = (await api.request('GET', `/orders/${orderId}`, { token: fan })).body;
    expect([order.status, order.payments[0].status]).toEqual(['paid', 'success']);
    expect((await checkClosedAttempts(api.sql, gatewayFor)).checked).toBe(0);
  });
});

describe('what the buyer’s browser chose is checked', () => {
  it('a payment PortOne reports in another currency is refused and refunded', async () => {
    const { orderId, payment } = await startPayment('portone');
    fault(payment.checkout.paymentId, 'noWebhook');
    await flows.payInPortOneWindow(api, payment.checkout);
    (
      api.simulator.state.payments.get(payment.checkout.paymentId)!.extra as Record<string, unknown>
    ).currency = 'VND';

    const res = await api.request('POST', `/orders/${orderId}/payments/${payment.id}/confirm`, {
      token: fan,
      body: {},
    });
    await api.settle();

    expect([res.status, res.body.code]).toEqual([422, 'AMOUNT_MISMATCH']);
    const [o] = await api.sql`select status from orders where id = ${orderId}`;
    expect(o!.status).not.toBe('paid');
    expect((await flows.refundsOf(api, payment.id)).map((r) => r.status)).toEqual(['sent']);
  });

  it('a price with cents cannot start a Toss payment, and nothing changes', async () => {
    const cents = await createShow(api.sql, { rows: 1, seatsPerRow: 4, price: 15000.5 });
    const order = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: cents.scheduleId, seatIds: [cents.seatIds[0]] },
    });
    const res = await api.request('POST', `/orders/${order.body.id}/payments`, {
      token: fan,
      body: { provider: 'toss' },
    });
    const [o] = await api.sql`select status from orders where id = ${order.body.id}`;
    const ps = await api.sql`select status from payments where order_id = ${order.body.id}`;
    expect([res.status, res.body.code, o!.status, ps.length]).toEqual([
      409,
      'ORDER_NOT_PAYABLE',
      'created',
      0,
    ]);
  });
});
