import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTx } from '../db/client';
import * as payments from '../db/payments';
import { gatewayFor } from '../functions/adapters/gateways';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, type Show } from '../test/fixtures';
import * as flows from '../test/gateway-flows';
import { MAX_REFUND_ATTEMPTS, sendRefund } from './refunds';

/**
 * Review of ead8769 (a refusal decides only while no other refund of the payment is in flight; the
 * gateway's word is applied again after every decided refusal). Each test is a sequence that left
 * what the gateway gave back of a payment different from what we record as sent. Fixed by reading
 * the gateway's cancellations by our refunds' keys instead of its totals (domain/refunds.ts
 * attributeCancels).
 */
let api: TestApi;
let show: Show;
let fan: string;
let money: ReturnType<typeof flows.fanMoneyFlows>;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '1000' });
  show = await createShow(api.sql, { rows: 10, seatsPerRow: 20, price: 15000 });
  fan = await api.token('refunds-review-fan');
  money = flows.fanMoneyFlows(api, fan, show);
});
afterAll(async () => {
  await api.settle();
  await api.close();
});

describe('the worker stops between a decided refusal and applying what the gateway reported', () => {
  it('the console cancel the refusal revealed is still recorded (its notice never came)', async () => {
    const { orderId, paymentId, ref, view } = await money.paidOrder('card', 3);
    // everything given back in the gateway's console; its notice is lost
    api.simulator.setFaults(ref, ['noWebhook']);
    await flows.cancelAtGateway(api, ref);
    await money.cancelItems(orderId, [view.items[0].id]);
    const [refund] = await flows.refundsOf(api, paymentId);

    // the worker: the refusal is decided ("made at the gateway", sent) and committed; the Lambda
    // then times out before applyGatewayPayment — `reported` exists only in its memory
    const result = await sendRefund(api.sql, refund!.id, gatewayFor);
    expect(result.outcome).toBe('sent');
    expect(result.reported).toBeDefined();

    // SQS hands the message back: the refund is settled, so nothing reports the gateway's word again
    await api.settle();

    // the gateway gave back 45,000; we record 15,000 — and two tickets stay booked without money
    expect(await money.refundViolationsOf(ref)).toEqual([]);
    expect((await money.getOrder(orderId)).status).toBe('refunded');
  });
});

describe('toss: a cancel at the gateway whose notice never came', () => {
  it('is learnt when our next refund finds the money already back, and applied', async () => {
    // the same sequence as refunds.pg.test.ts does for PortOne; Toss's adapter answers "already
    // cancelled, covered" with success, so settleRefusal (and the gateway's word) is never reached
    const { orderId, ref, view } = await money.paidOrder('toss', 3);
    api.simulator.setFaults(ref, ['noWebhook']);
    await flows.cancelAtGateway(api, ref);
    await api.settle();

    await money.cancelItems(orderId, [view.items[0].id]);
    await api.settle();

    const order = await money.getOrder(orderId);
    expect(await money.refundViolationsOf(ref)).toEqual([]);
    expect([order.status, order.items.map((i: { status: string }) => i.status)]).toEqual([
      'refunded',
      ['cancelled', 'cancelled', 'cancelled'],
    ]);
  });
});

describe('a refusal whose attempts run out while another refund of the payment stays in flight', () => {
  it('is decided on the gateway word once that refund settles, not given up without it', async () => {
    const { orderId, paymentId, ref, view } = await money.paidOrder('card', 3);
    await money.cancelItems(orderId, [view.items[0].id]);
    await money.cancelItems(orderId);
    const [first, second] = await flows.refundsOf(api, paymentId);
    // the first refund's worker claimed it and stalled (a Lambda timed out; its message is late)
    await inTx(api.sql, (tx) => payments.claimRefund(tx, first!.id));
    // 30,000 is given back in the console; its notice is lost
    api.simulator.setFaults(ref, ['noWebhook']);
    await flows.cancelAtGateway(api, ref, 30000);

    // the second refund (30,000) is refused (15,000 left) while the first is in flight. Its
    // messages keep coming (the old design tried it again and gave it up at the last attempt,
    // without the gateway's word); now the first refusal decides on the gateway's cancellations —
    // 30,000 given back without a key of ours, none recorded: made at the gateway — and the rest
    // find it settled
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= MAX_REFUND_ATTEMPTS; attempt++)
      outcomes.push((await sendRefund(api.sql, second!.id, gatewayFor)).outcome);
    expect(outcomes).toEqual(['sent', 'settled', 'settled', 'settled', 'settled']);

    // the first refund's message comes back: it is executed and recorded
    await api.settle();
    expect(api.simulator.state.payments.get(ref)!.cancels.map((c) => c.amount)).toEqual([3000000, 1500000]);

    // the gateway gave back 45,000 (all of it); we record 15,000 as sent and 30,000 as failed
    expect(await money.refundViolationsOf(ref)).toEqual([]);
  });
});

describe('two refunds of a payment both tried (an outage), then a full console cancel', () => {
  it('neither is given up on (no alarm) for money the gateway already gave back', async () => {
    const { orderId, paymentId, ref, view } = await money.paidOrder('card', 3);
    await money.cancelItems(orderId, [view.items[0].id]);
    await money.cancelItems(orderId);
    const [first, second] = await flows.refundsOf(api, paymentId);
    // the gateway is down when both are first sent: each is tried once, its outcome unknown
    api.simulator.setFaults(ref, ['error500']);
    expect((await sendRefund(api.sql, first!.id, gatewayFor)).outcome).toBe('retry');
    expect((await sendRefund(api.sql, second!.id, gatewayFor)).outcome).toBe('retry');
    // back up; an operator gives everything back in the console, and its notice arrives
    api.simulator.setFaults(ref, []);
    await flows.cancelAtGateway(api, ref);

    // the notice, applied while both are tried, is taken for them. Each refusal now sees the other
    // refund in flight (requested and tried: a retry waiting looks like a call on its way) and waits
    // for it: they wait on each other until one runs out of attempts and is given up on (refund.failed,
    // the RefundFailed alarm). The last one then decides and settles the other as made at the
    // gateway, so the books end right — after every attempt of both and an alarm for money returned.
    await api.settle();

    const failedEvents = await api.sql`
      select detail from outbox where detail_type = 'refund.failed'
        and (detail->>'refundId')::bigint in (${first!.id}, ${second!.id})`;
    expect(failedEvents).toEqual([]);
    expect(await money.refundViolationsOf(ref)).toEqual([]);
  });
});
