import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, invariantViolations, type Show } from '../test/fixtures';
import * as flows from '../test/gateway-flows';
import { settleCancelledSchedules } from './schedules';

let api: TestApi;
let show: Show;
let fan: string;
let dealSeats: (n: number) => number[];

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '1000', MAX_SEATS_PER_ORDER: '8' });
  show = await createShow(api.sql, { rows: 20, seatsPerRow: 20, price: 50000 });
  fan = await api.token('payer');
  dealSeats = flows.seatDealer(show);
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

/** An order of `n` fresh seats with a started card payment. */
const payableOrder = (n = 2) =>
  flows.startPayment(api, {
    token: fan,
    scheduleId: show.scheduleId,
    seatIds: dealSeats(n),
    provider: 'card',
  });
const event = flows.signedEvent;

async function deliver(...events: ReturnType<typeof event>[]) {
  for (const e of events) expect((await api.webhook('card', e)).status).toBe(202);
  await api.queue.drain();
}

const getOrder = async (id: number) => (await api.request('GET', `/orders/${id}`, { token: fan })).body;
const paymentState = async (id: number) =>
  (await api.sql`select status, flag from payments where id = ${id}`)[0] as {
    status: string;
    flag: string | null;
  };

describe('POST /orders/{id}/payments', () => {
  it('opens one payment for the total, moves the order to awaiting_payment and the seats to pending_payment', async () => {
    const { orderId, payment } = await payableOrder(2);

    expect(payment).toMatchObject({ orderId, provider: 'card', amount: '100000.00', status: 'initiated' });
    const order = await getOrder(orderId);
    expect(order.status).toBe('awaiting_payment');
    expect(Date.parse(order.holdExpiresAt) - Date.now()).toBeGreaterThan(590_000);
    expect(await flows.seatStatuses(api, orderId)).toEqual(['pending_payment', 'pending_payment']);
  });

  it('returns the same open payment when asked again, and at most one is open', async () => {
    const { orderId, payment } = await payableOrder(1);
    const again = await api.request('POST', `/orders/${orderId}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    const switched = await api.request('POST', `/orders/${orderId}/payments`, {
      token: fan,
      body: { provider: 'kakao' },
    });

    expect(again.body.id).toBe(payment.id);
    expect(switched.body.id).not.toBe(payment.id);
    const [row] =
      await api.sql`select count(*)::int as n from payments where order_id = ${orderId} and status = 'initiated'`;
    expect(row!.n).toBe(1);
  });

  it('answers ORDER_EXPIRED for a lapsed hold and ORDER_NOT_PAYABLE for a cancelled order', async () => {
    const seats = dealSeats(2);
    const a = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: show.scheduleId, seatIds: [seats[0]] },
    });
    const b = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: show.scheduleId, seatIds: [seats[1]] },
    });
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${a.body.id}`;
    await api.request('POST', `/orders/${b.body.id}/cancel`, { token: fan });

    const expired = await api.request('POST', `/orders/${a.body.id}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    const cancelled = await api.request('POST', `/orders/${b.body.id}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    const badProvider = await api.request('POST', `/orders/${b.body.id}/payments`, {
      token: fan,
      body: { provider: 'bitcoin' },
    });

    expect([expired.status, expired.body.code]).toEqual([409, 'ORDER_EXPIRED']);
    expect([cancelled.status, cancelled.body.code]).toEqual([409, 'ORDER_NOT_PAYABLE']);
    expect([badProvider.status, badProvider.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('a concert deactivated while a fan holds seats', () => {
  // Deactivating stops new sales (holds answer SALES_CLOSED); a hold granted while it was on sale
  // is honoured until it lapses, like any hold: cancelling the show is the schedule's `cancelled`.
  it('still lets the holder pay for the seats already held', async () => {
    const hidden = await createShow(api.sql, { rows: 1, seatsPerRow: 4, price: 50000 });
    const held = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: hidden.scheduleId, seatIds: [hidden.seatIds[0]] },
    });
    const admin = await api.adminToken();
    await api.request('PATCH', `/admin/concerts/${hidden.concertId}`, {
      token: admin,
      body: { isActive: false },
    });

    const payment = await api.request('POST', `/orders/${held.body.id}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    expect([payment.status, payment.body.status]).toEqual([201, 'initiated']);
    await deliver(event(payment.body.id, '50000.00'));

    expect((await getOrder(held.body.id)).status).toBe('paid');
  });

  it('refunds a success that arrives after the hold lapsed: rebooking the seats would be a new sale (before and after the sweeper)', async () => {
    const { sweep } = await import('./sweeper');
    const hidden = await createShow(api.sql, { rows: 1, seatsPerRow: 4, price: 50000 });
    const started = [];
    for (const seatId of hidden.seatIds.slice(0, 2)) {
      const held = await api.request('POST', '/orders', {
        token: fan,
        body: { scheduleId: hidden.scheduleId, seatIds: [seatId] },
      });
      const payment = await api.request('POST', `/orders/${held.body.id}/payments`, {
        token: fan,
        body: { provider: 'card' },
      });
      started.push({ orderId: held.body.id as number, paymentId: payment.body.id as number });
    }
    const admin = await api.adminToken();
    await api.request('PATCH', `/admin/concerts/${hidden.concertId}`, {
      token: admin,
      body: { isActive: false },
    });
    const [unswept, swept] = started as [(typeof started)[0], (typeof started)[0]];
    for (const { orderId } of started) {
      await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
      await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;
    }
    await deliver(event(unswept.paymentId, '50000.00'));
    await sweep(api.sql);
    await deliver(event(swept.paymentId, '50000.00'));

    for (const { orderId } of started) {
      const order = await getOrder(orderId);
      expect(order.status).toBe('cancelled');
      expect(order.payments.map((p: { status: string }) => p.status)).toEqual(['success', 'refund']);
    }
    expect(await flows.seatStatuses(api, unswept.orderId)).toEqual(['available']);
  });
});

describe('payment webhooks', () => {
  it('books the seats on a success with the right amount', async () => {
    const { orderId, payment } = await payableOrder(2);

    await deliver(event(payment.id, '100000.00'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('paid');
    expect(order.holdExpiresAt).toBeNull();
    expect(order.items.map((i: { status: string }) => i.status)).toEqual(['booked', 'booked']);
    expect(order.payments[0]).toMatchObject({ status: 'success', pgTid: `tid-${payment.id}` });
    expect(await flows.seatStatuses(api, orderId)).toEqual(['booked', 'booked']);
  });

  it('cancels the order and frees the seats on a failure', async () => {
    const { orderId, payment, seatIds } = await payableOrder(2);

    await deliver(event(payment.id, '100000.00', 'payment.failed'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('cancelled');
    expect(order.payments[0].status).toBe('fail');
    expect(await flows.seatStatuses(api, orderId)).toEqual(['available', 'available']);
    const other = await api.request('POST', '/orders', {
      token: await api.token('next'),
      body: { scheduleId: show.scheduleId, seatIds },
    });
    expect(other.status).toBe(201);
  });

  it('refunds the amount a wrong-amount success charged, closes that payment and leaves the hold running', async () => {
    const { orderId, payment } = await payableOrder(1);
    const holdBefore = (await getOrder(orderId)).holdExpiresAt;

    await deliver(event(payment.id, '1.00'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('awaiting_payment');
    expect(order.holdExpiresAt).toBe(holdBefore);
    expect(await flows.seatStatuses(api, orderId)).toEqual(['pending_payment']);
    const rows =
      await api.sql`select status, amount::text, flag, refund_of as "refundOf", pg_tid as "pgTid" from payments where order_id = ${orderId} order by id`;
    expect(rows).toEqual([
      {
        status: 'fail',
        amount: '50000.00',
        flag: 'amount_mismatch: expected 50000.00, received 1.00',
        refundOf: null,
        pgTid: `tid-${payment.id}`,
      },
      { status: 'refund', amount: '1.00', flag: null, refundOf: payment.id, pgTid: `tid-${payment.id}` },
    ]);
    const refunded =
      await api.sql`select detail from outbox where detail_type = 'order.refunded' and (detail->>'orderId')::bigint = ${orderId}`;
    expect(refunded.map((r) => r.detail)).toEqual([
      expect.objectContaining({ paymentId: payment.id, amount: '1.00', reason: 'amount_mismatch' }),
    ]);
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    expect(recon.body.refundsToSend).toContainEqual(
      expect.objectContaining({ orderId, amount: '1.00', refundOf: payment.id }),
    );
    expect(recon.body.flaggedPayments).toContainEqual({
      paymentId: payment.id,
      orderId,
      flag: expect.stringMatching(/^amount_mismatch/),
    });

    // the fan can still pay, correctly, within the same hold
    const again = await api.request('POST', `/orders/${orderId}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    expect(again.body).toMatchObject({ status: 'initiated', amount: '50000.00' });
    expect(again.body.id).not.toBe(payment.id);
    await deliver(event(again.body.id, '50000.00'));
    expect((await getOrder(orderId)).status).toBe('paid');
  });

  it('refunds a wrong-amount charge once, however often and under whichever event ids it is reported', async () => {
    const { orderId, payment } = await payableOrder(1);
    const wrong = event(payment.id, '70000.00');
    const { applyPaymentEvent } = await import('./payments');

    const outcomes = await Promise.all([
      applyPaymentEvent(api.sql, 'card', wrong as never),
      applyPaymentEvent(api.sql, 'card', wrong as never),
      applyPaymentEvent(api.sql, 'card', event(payment.id, '70000.00') as never),
      applyPaymentEvent(api.sql, 'card', event(payment.id, '60000.00') as never),
    ]);
    // a right-amount success for the same, already refunded, charge books nothing
    await deliver(event(payment.id, '50000.00'));

    expect(outcomes.filter((o) => o === 'amount_mismatch')).toHaveLength(1);
    const refunds =
      await api.sql`select amount::text from payments where refund_of = ${payment.id} and status = 'refund'`;
    expect(refunds).toHaveLength(1);
    const [events] =
      await api.sql`select count(*)::int as n from outbox where detail_type = 'order.refunded' and (detail->>'orderId')::bigint = ${orderId}`;
    expect(events!.n).toBe(1);
    expect((await getOrder(orderId)).status).toBe('awaiting_payment');
    const [row] = await api.sql`select status, flag from payments where id = ${payment.id}`;
    expect(row).toMatchObject({ status: 'fail', flag: expect.stringMatching(/^amount_mismatch/) });
  });

  it('leaves no wrong-amount payment open when its order expires', async () => {
    const { sweep } = await import('./sweeper');
    const { orderId, payment } = await payableOrder(1);
    await deliver(event(payment.id, '1.00'));
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;
    await api.sql`update payments set expires_at = now() - interval '1 s' where id = ${payment.id}`;
    await sweep(api.sql);

    expect((await getOrder(orderId)).status).toBe('cancelled');
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    const stuck = recon.body.stuckPayments.map((p: { paymentId: number }) => p.paymentId);
    expect(stuck).not.toContain(payment.id);
    expect(recon.body.refundsToSend).toContainEqual(
      expect.objectContaining({ orderId, amount: '1.00', refundOf: payment.id }),
    );
  });

  it('applies the same event delivered five times concurrently exactly once', async () => {
    const { orderId, payment } = await payableOrder(1);
    const e = event(payment.id, '50000.00');

    const responses = await Promise.all(Array.from({ length: 5 }, () => api.webhook('card', e)));
    // five messages on the queue, processed by concurrent "Lambda invocations"
    await Promise.all([api.queue.poll(), api.queue.poll(), api.queue.poll()]);
    await api.queue.drain();

    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const [events] =
      await api.sql`select count(*)::int as n from webhook_events where event_id = ${e.eventId}`;
    const outbox =
      await api.sql`select count(*)::int as n from outbox where detail_type = 'order.paid' and (detail->>'orderId')::bigint = ${orderId}`;
    expect(events!.n).toBe(1);
    expect(outbox[0]!.n).toBe(1);
    expect((await getOrder(orderId)).status).toBe('paid');
  });

  it('applies concurrent success, failure and success events of one payment into one consistent state', async () => {
    const { orderId, payment } = await payableOrder(1);
    const events = [
      event(payment.id, '50000.00'),
      event(payment.id, '50000.00', 'payment.failed'),
      event(payment.id, '50000.00'),
    ];
    const { applyPaymentEvent } = await import('./payments');

    const outcomes = await Promise.all(events.map((e) => applyPaymentEvent(api.sql, 'card', e as never)));

    const order = await getOrder(orderId);
    if (order.status === 'paid')
      expect(outcomes.filter((o) => o === 'paid' || o === 'paid_late')).toHaveLength(1);
    else expect(order.status).toBe('cancelled');
  });

  it('does not unbook a paid order when a failure arrives after the success', async () => {
    const { orderId, payment } = await payableOrder(1);

    await deliver(event(payment.id, '50000.00'), event(payment.id, '50000.00', 'payment.failed'));

    expect((await getOrder(orderId)).status).toBe('paid');
    expect(await flows.seatStatuses(api, orderId)).toEqual(['booked']);
  });

  it('books a success that arrives after a failure when the seats are still free', async () => {
    const { orderId, payment } = await payableOrder(2);

    await deliver(event(payment.id, '100000.00', 'payment.failed'), event(payment.id, '100000.00'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('paid');
    expect(order.totalAmount).toBe('100000.00');
    expect(await flows.seatStatuses(api, orderId)).toEqual(['booked', 'booked']);
  });

  it('books a late success after expiry when the seats are still free (before and after the sweeper)', async () => {
    const { sweep } = await import('./sweeper');
    const { orderId, payment } = await payableOrder(1);
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;
    await sweep(api.sql);
    expect((await getOrder(orderId)).status).toBe('cancelled');
    expect(await paymentState(payment.id)).toEqual({ status: 'fail', flag: 'order expired' });

    await deliver(event(payment.id, '50000.00'));

    expect((await getOrder(orderId)).status).toBe('paid');
    expect(await flows.seatStatuses(api, orderId)).toEqual(['booked']);
    expect((await paymentState(payment.id)).status).toBe('success');
  });

  it('announces the expiry of a lapsed holder whose seats a late success takes back', async () => {
    const { orderId, payment, seatIds } = await payableOrder(1);
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;
    const taker = await api.request('POST', '/orders', {
      token: await api.token('lapsed-taker'),
      body: { scheduleId: show.scheduleId, seatIds },
    });
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${taker.body.id}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${taker.body.id}`;

    await deliver(event(payment.id, '50000.00'));

    expect((await getOrder(orderId)).status).toBe('paid');
    const [taken] = await api.sql`select status, cancel_reason from orders where id = ${taker.body.id}`;
    expect(taken).toEqual({ status: 'cancelled', cancel_reason: 'expired' });
    const expired = await api.sql`
      select detail from outbox where detail_type = 'order.expired' and (detail->>'orderId')::bigint = ${taker.body.id}`;
    expect(expired).toHaveLength(1);
  });

  it('refunds a late success that would take its user over the per-user limit (before and after the sweeper)', async () => {
    const { resetConfig } = await import('./config');
    const { sweep } = await import('./sweeper');
    const previous = process.env.MAX_SEATS_PER_USER;
    Object.assign(process.env, { MAX_SEATS_PER_USER: '8' });
    resetConfig();
    try {
      for (const swept of [false, true]) {
        const user = await api.token(`limit-${swept}`);
        const order = async () => {
          const seatIds = dealSeats(8);
          const placed = await api.request('POST', '/orders', {
            token: user,
            body: { scheduleId: show.scheduleId, seatIds },
          });
          expect(placed.status).toBe(201);
          const payment = await api.request('POST', `/orders/${placed.body.id}/payments`, {
            token: user,
            body: { provider: 'card' },
          });
          return { orderId: placed.body.id as number, payment: payment.body };
        };
        const a = await order();
        await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${a.orderId}`;
        await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${a.orderId}`;
        if (swept) await sweep(api.sql);
        const b = await order();
        await deliver(event(b.payment.id, '400000.00'));
        const [paid] = await api.sql`select status from orders where id = ${b.orderId}`;
        expect(paid!.status).toBe('paid');

        await deliver(event(a.payment.id, '400000.00'));

        const [late] = await api.sql`select status from orders where id = ${a.orderId}`;
        // not booked; the sweeper expires a lapsed hold it has not reached yet
        expect(late!.status).toBe(swept ? 'cancelled' : 'awaiting_payment');
        const refunds =
          await api.sql`select amount::text from payments where order_id = ${a.orderId} and status = 'refund'`;
        expect(refunds.map((r) => r.amount)).toEqual(['400000.00']);
      }
    } finally {
      Object.assign(process.env, { MAX_SEATS_PER_USER: previous });
      resetConfig();
    }
  });

  it('records a refund for a late success whose seats were sold to someone else', async () => {
    const { orderId, payment, seatIds } = await payableOrder(1);
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;
    const taker = await api.request('POST', '/orders', {
      token: await api.token('taker'),
      body: { scheduleId: show.scheduleId, seatIds },
    });
    expect(taker.status).toBe(201);
    // the hold that took the lapsed seats expired the order, and with it the open payment
    expect(await paymentState(payment.id)).toEqual({ status: 'fail', flag: 'order expired' });

    await deliver(event(payment.id, '50000.00'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('cancelled');
    expect(order.payments.map((p: { status: string; amount: string }) => [p.status, p.amount])).toEqual([
      ['success', '50000.00'],
      ['refund', '50000.00'],
    ]);
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    expect(recon.body.refundsToSend.some((r: { orderId: number }) => r.orderId === orderId)).toBe(true);
    expect(recon.body.paidWithoutTicket.some((r: { orderId: number }) => r.orderId === orderId)).toBe(false);
  });

  it('closes the open payment of an order the customer cancels, and refunds a success that arrives after', async () => {
    const { orderId, payment } = await payableOrder(1);
    expect((await api.request('POST', `/orders/${orderId}/cancel`, { token: fan })).status).toBe(200);
    expect(await paymentState(payment.id)).toEqual({ status: 'fail', flag: 'order cancelled: customer' });

    await deliver(event(payment.id, '50000.00'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('cancelled');
    expect(order.payments.map((p: { status: string; amount: string }) => [p.status, p.amount])).toEqual([
      ['success', '50000.00'],
      ['refund', '50000.00'],
    ]);
  });

  it('closing an expired payment keeps its reconciliation flag', async () => {
    const { sweep } = await import('./sweeper');
    const { orderId, payment } = await payableOrder(1);
    // an event from another provider flags the payment and leaves it open (a wrong amount no
    // longer does: it is refunded and closed at once)
    expect((await api.webhook('kakao', event(payment.id, '50000.00'))).status).toBe(202);
    await api.queue.drain();
    await api.sql`update orders set hold_expires_at = now() - interval '1 s' where id = ${orderId}`;
    await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 s' where order_id = ${orderId}`;

    await sweep(api.sql);

    expect(await paymentState(payment.id)).toEqual({
      status: 'fail',
      flag: 'provider_mismatch: event from kakao; order expired',
    });
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    expect(recon.body.flaggedPayments.some((p: { paymentId: number }) => p.paymentId === payment.id)).toBe(
      true,
    );
  });

  it('refunds a second successful payment of an already paid order', async () => {
    const { orderId, payment } = await payableOrder(1);
    await deliver(event(payment.id, '50000.00'));
    // a superseded attempt that the PG charged anyway
    const [second] =
      await api.sql`insert into payments (order_id, provider, amount, status, flag) values (${orderId}, 'card', 50000, 'fail', 'superseded') returning id`;

    await deliver(event(second!.id, '50000.00'));

    const order = await getOrder(orderId);
    expect(order.status).toBe('paid');
    expect(order.payments.filter((p: { status: string }) => p.status === 'refund')).toHaveLength(1);
  });

  it('ignores events for unknown payments and events from the wrong provider', async () => {
    const { orderId, payment } = await payableOrder(1);
    await deliver(event(999999, '1.00'));
    const raw = event(payment.id, '50000.00');
    expect((await api.webhook('kakao', raw)).status).toBe(202);
    await api.queue.drain();

    expect((await getOrder(orderId)).status).toBe('awaiting_payment');
    const outcomes =
      await api.sql`select outcome from webhook_events where payment_id in (999999, ${payment.id}) order by id`;
    expect(outcomes.map((r) => r.outcome)).toEqual(['unknown_payment', 'provider_mismatch']);
  });
});

describe('webhook endpoint', () => {
  it('refuses a bad, stale, missing or tampered signature with 401 and queues nothing', async () => {
    const e = event(1, '1.00');
    const raw = JSON.stringify(e);
    const { sign } = await import('../functions/adapters/pg-webhooks');
    const stale = Math.floor(Date.now() / 1000) - 301;
    const depth = api.queue.depth;

    const results = await Promise.all([
      api.webhook('card', e, 'wrong-secret'),
      api.webhook('card', e, 'test-secret', stale),
      api.request('POST', '/webhooks/pg/card', {
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      }),
      api.request('POST', '/webhooks/pg/card', {
        rawBody: raw.replace('1.00', '9.00'),
        headers: { 'content-type': 'application/json', 'pg-signature': sign('test-secret', raw) },
      }),
      api.request('POST', '/webhooks/pg/card', {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'pg-signature': 'garbage' },
      }),
    ]);

    expect(results.map((r) => [r.status, r.body.code])).toEqual(Array(5).fill([401, 'INVALID_SIGNATURE']));
    expect(api.queue.depth).toBe(depth);
  });

  it('refuses a signed but malformed body with 400 and queues nothing', async () => {
    const depth = api.queue.depth;
    const { sign } = await import('../functions/adapters/pg-webhooks');
    const bad = [
      '{"eventId": 1',
      JSON.stringify({ ...event(1, '1.00'), type: 'payment.maybe' }),
      JSON.stringify({ ...event(1, '-5') }),
    ];

    const results = await Promise.all(
      bad.map((raw) =>
        api.request('POST', '/webhooks/pg/card', {
          rawBody: raw,
          headers: { 'content-type': 'application/json', 'pg-signature': sign('test-secret', raw) },
        }),
      ),
    );

    expect(results.map((r) => r.status)).toEqual([400, 400, 400]);
    expect(api.queue.depth).toBe(depth);
  });

  it('answers 404 for an unknown provider', async () => {
    const res = await api.webhook('paypal', event(1, '1.00'));
    expect(res.status).toBe(404);
  });
});

describe('cancelling paid orders', () => {
  it('refunds cancelled items, then marks the order refunded when nothing paid is left', async () => {
    const { orderId, payment, seatIds } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));
    const order = await getOrder(orderId);

    const partial = await api.request('POST', `/orders/${orderId}/cancel`, {
      token: fan,
      body: { itemIds: [order.items[0].id] },
    });
    expect(partial.body).toMatchObject({ status: 'paid', totalAmount: '50000.00' });
    const resold = await api.request('POST', '/orders', {
      token: await api.token('resale'),
      body: { scheduleId: show.scheduleId, seatIds: [seatIds[0]] },
    });
    expect(resold.status).toBe(201);

    const rest = await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    expect(rest.body.status).toBe('refunded');
    expect(rest.body.totalAmount).toBe('0.00');
    expect(
      rest.body.payments
        .filter((p: { status: string }) => p.status === 'refund')
        .map((p: { amount: string }) => p.amount),
    ).toEqual(['50000.00', '50000.00']);
    const types =
      await api.sql`select detail_type from outbox where (detail->>'orderId')::bigint = ${orderId} order by id`;
    expect(types.map((t) => t.detail_type)).toEqual([
      'order.paid',
      'refund.requested',
      'order.refunded',
      'refund.requested',
      'order.refunded',
    ]);
  });

  it('records what the refundable payments cannot cover, for reconciliation', async () => {
    const { orderId, payment } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));
    // half of the money went back earlier while both tickets stayed booked (by an operator, say)
    await api.sql`
      insert into payments (order_id, provider, amount, status, refund_of, refund_status, refund_sent_at)
      values (${orderId}, 'card', 50000, 'refund', ${payment.id}, 'sent', now())`;

    const res = await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });

    expect(res.body.status).toBe('refunded');
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    expect(recon.body.flaggedPayments).toContainEqual({
      paymentId: payment.id,
      orderId,
      flag: expect.stringMatching(/refund_shortfall: 50000\.00/),
    });
  });

  it('fails loudly cancelling a paid order that has no successful payment to refund from', async () => {
    const { orderId, payment } = await payableOrder(1);
    await deliver(event(payment.id, '50000.00'));
    // the success was undone by hand: the order is paid, but no money is on record
    await api.sql`update payments set status = 'fail' where id = ${payment.id}`;

    const res = await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });

    expect(res.status).toBe(500);
    expect((await getOrder(orderId)).status).toBe('paid');
    // put the money back on record: the file's invariants check what the system did, not the hand edit
    await api.sql`update payments set status = 'success' where id = ${payment.id}`;
  });

  it('refuses a partial cancel while a payment is in flight', async () => {
    const { orderId } = await payableOrder(2);
    const order = await getOrder(orderId);
    const res = await api.request('POST', `/orders/${orderId}/cancel`, {
      token: fan,
      body: { itemIds: [order.items[0].id] },
    });
    expect([res.status, res.body.code]).toEqual([409, 'CONFLICT']);
  });

  it('cancelling a schedule closes the open payments of the orders it cancels', async () => {
    const other = await createShow(api.sql, { rows: 1, seatsPerRow: 2, price: 1000 });
    const buyer = await api.token('schedule-payer');
    const order = await api.request('POST', '/orders', {
      token: buyer,
      body: { scheduleId: other.scheduleId, seatIds: [other.seatIds[0]] },
    });
    const payment = await api.request('POST', `/orders/${order.body.id}/payments`, {
      token: buyer,
      body: { provider: 'kakao' },
    });

    const res = await api.request('PATCH', `/admin/schedules/${other.scheduleId}`, {
      token: await api.adminToken(),
      body: { status: 'cancelled' },
    });
    await settleCancelledSchedules(api.sql);

    expect(res.status).toBe(202);
    expect(await paymentState(payment.body.id)).toEqual({
      status: 'fail',
      flag: 'order cancelled: schedule_cancelled',
    });
  });

  it('cancelling a schedule cancels unpaid orders and refunds paid ones', async () => {
    const other = await createShow(api.sql, { rows: 2, seatsPerRow: 5, price: 1000 });
    const buyer = await api.token('schedule-buyer');
    const _unpaid = await api.request('POST', '/orders', {
      token: buyer,
      body: { scheduleId: other.scheduleId, seatIds: [other.seatIds[0]] },
    });
    const paid = await api.request('POST', '/orders', {
      token: buyer,
      body: { scheduleId: other.scheduleId, seatIds: [other.seatIds[1], other.seatIds[2]] },
    });
    const payment = await api.request('POST', `/orders/${paid.body.id}/payments`, {
      token: buyer,
      body: { provider: 'naver' },
    });
    const e = event(payment.body.id, '2000.00');
    expect((await api.webhook('naver', e)).status).toBe(202);
    await api.queue.drain();

    const res = await api.request('PATCH', `/admin/schedules/${other.scheduleId}`, {
      token: await api.adminToken(),
      body: { status: 'cancelled' },
    });
    await settleCancelledSchedules(api.sql);

    expect(res.status).toBe(202);
    expect(res.body.status).toBe('cancelled');
    const statuses =
      await api.sql`select id, status, cancel_reason from orders where schedule_id = ${other.scheduleId} order by id`;
    expect(statuses.map((o) => [o.status, o.cancel_reason])).toEqual([
      ['cancelled', 'schedule_cancelled'],
      ['refunded', null],
    ]);
    const [refund] =
      await api.sql`select amount::text from payments where order_id = ${paid.body.id} and status = 'refund'`;
    expect(refund!.amount).toBe('2000.00');
    const reopen = await api.request('PATCH', `/admin/schedules/${other.scheduleId}`, {
      token: await api.adminToken(),
      body: { status: 'sales_open' },
    });
    expect(reopen.status).toBe(409);
  });
});

describe('a successful payment cancelled at the gateway (issue 14, hole 5)', () => {
  const publicIdOf = async (paymentId: number) =>
    (await api.sql<{ ref: string }[]>`select public_id as ref from payments where id = ${paymentId}`)[0]!.ref;
  /** A cancel made at the gateway on its own (its console, the card company); its signed notice follows. */
  async function cancelAtGateway(paymentId: number, amount?: number) {
    const res = await fetch(`${api.simulator.url}/_sim/payments/${await publicIdOf(paymentId)}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(amount === undefined ? {} : { amount }),
    });
    expect(res.status).toBe(200);
    await api.settle();
  }
  const refundsOf = async (paymentId: number) =>
    api.sql`select amount::text, refund_status as "refundStatus" from payments where refund_of = ${paymentId} order by id`;

  it('cancels the tickets, puts the seats back on sale and records the money the gateway gave back', async () => {
    const { orderId, payment, seatIds } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));
    const cancelCalls = () => api.simulator.state.counts.calls['builtin cancel'] ?? 0;
    await api.settle(); // refunds of earlier tests go out first
    const before = cancelCalls();

    await cancelAtGateway(payment.id);

    const order = await getOrder(orderId);
    expect([order.status, order.items.map((i: { status: string }) => i.status)]).toEqual([
      'refunded',
      ['cancelled', 'cancelled'],
    ]);
    expect(await flows.seatStatuses(api, orderId)).toEqual(['available', 'available']);
    // the gateway already gave the money back: recorded as sent, nothing is sent again
    expect(await refundsOf(payment.id)).toEqual([{ amount: '100000.00', refundStatus: 'sent' }]);
    expect(cancelCalls() - before).toBe(0);
    const types = await api.sql`select detail_type, detail->>'reason' as reason from outbox
      where (detail->>'orderId')::bigint = ${orderId} order by id`;
    expect(types.map((t) => [t.detail_type, t.reason])).toEqual([
      ['order.paid', null],
      ['order.refunded', 'gateway_cancelled'],
    ]);
    const resold = await api.request('POST', '/orders', {
      token: await api.token('after-gateway-cancel'),
      body: { scheduleId: show.scheduleId, seatIds },
    });
    expect(resold.status).toBe(201);
  });

  it('changes nothing when the cancellation is our own refund coming back', async () => {
    const { orderId, payment } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));
    await api.request('POST', `/orders/${orderId}/cancel`, { token: fan });
    await api.settle();

    // the gateway's notice of our own refund (signed; its total is asked for again)
    await deliver(event(payment.id, '100000.00', 'payment.cancelled'));

    expect(await refundsOf(payment.id)).toEqual([{ amount: '100000.00', refundStatus: 'sent' }]);
    const [row] =
      await api.sql`select outcome from webhook_events where payment_id = ${payment.id} and type = 'payment.cancelled'`;
    expect(row!.outcome).toBe('already_refunded');
  });

  it('asks the gateway rather than believe a notice: a stale or invented total changes nothing', async () => {
    const { orderId, payment } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));

    // signed, but the gateway has cancelled nothing of this payment
    await deliver(event(payment.id, '100000.00', 'payment.cancelled'));

    expect((await getOrder(orderId)).status).toBe('paid');
    expect(await refundsOf(payment.id)).toEqual([]);
  });

  it('records a partial cancellation for an operator and keeps the tickets', async () => {
    const { orderId, payment } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));

    await cancelAtGateway(payment.id, 30000);

    expect((await getOrder(orderId)).status).toBe('paid');
    expect(await refundsOf(payment.id)).toEqual([{ amount: '30000.00', refundStatus: 'sent' }]);
    expect((await paymentState(payment.id)).flag).toMatch(/gateway_cancel: 30000\.00/);
    const recon = await api.request('GET', '/admin/reports/reconciliation', {
      token: await api.adminToken(),
    });
    expect(recon.body.flaggedPayments).toContainEqual(expect.objectContaining({ paymentId: payment.id }));
  });

  it('applies each cancelled total once, however often it is reported', async () => {
    const { orderId, payment } = await payableOrder(2);
    await deliver(event(payment.id, '100000.00'));
    await cancelAtGateway(payment.id);
    const notice = event(payment.id, '100000.00', 'payment.cancelled');

    await deliver(notice, { ...notice, eventId: `${notice.eventId}-again` }, notice);

    expect((await getOrder(orderId)).status).toBe('refunded');
    expect(await refundsOf(payment.id)).toEqual([{ amount: '100000.00', refundStatus: 'sent' }]);
  });
});
