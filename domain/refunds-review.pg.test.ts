import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTx } from '../db/client';
import * as payments from '../db/payments';
import type { Provider } from '../db/vocabulary';
import { gatewayFor } from '../functions/adapters/gateways';
import { createTestApi, type TestApi } from '../test/api';
import { untilSomeoneWaitsForALock } from '../test/db';
import { createShow, type Show } from '../test/fixtures';
import * as flows from '../test/gateway-flows';
import { applyGatewayPayment } from './payments';
import type { PaymentGateway } from './ports';
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

/**
 * Review of fa44195, b7c265d, 681c116 (refunds attributed by their keys): two more sequences that
 * left what the gateway gave back of a payment different from what we record as sent.
 */
/** The real gateway, whose cancel call waits for `open` (a slow network), everything else as is. */
function slowCancel(open: Promise<void>) {
  return async (provider: Provider): Promise<PaymentGateway> => {
    const gateway = await gatewayFor(provider);
    return {
      ...gateway,
      cancel: async (request) => {
        await open;
        return gateway.cancel(request);
      },
    };
  };
}

describe('a refusal decided while a cancel notice of the same payment is being applied', () => {
  it('does not take the console money the notice is recording for itself (both would record it)', async () => {
    const { orderId, paymentId, ref, view } = await money.paidOrder('card', 3);
    // the fan cancels two seats (30,000), then the last one (15,000)
    await money.cancelItems(orderId, [view.items[0].id, view.items[1].id]);
    await money.cancelItems(orderId);
    const [first, second] = await flows.refundsOf(api, paymentId);
    expect([first!.amount, second!.amount]).toEqual(['30000.00', '15000.00']);
    // both tried once during an outage (tried: the notice will not take them for untried ones)
    api.simulator.setFaults(ref, ['error500']);
    expect((await sendRefund(api.sql, first!.id, gatewayFor)).outcome).toBe('retry');
    expect((await sendRefund(api.sql, second!.id, gatewayFor)).outcome).toBe('retry');
    // the gateway is back; an operator gives 15,000 back in its console. Its webhook comes and our
    // handler fetches the payment (15,000 cancelled, no key) — then takes its time applying it
    api.simulator.setFaults(ref, ['noWebhook']);
    await flows.cancelAtGateway(api, ref, 15000);
    const card = await gatewayFor('card');
    const notice = await card.fetch({ paymentRef: ref, pgTid: null });
    expect(notice.cancels).toEqual([{ amount: '15000.00', refundKey: null }]);

    // the first refund is executed (30,000: nothing is left at the gateway)
    expect((await sendRefund(api.sql, first!.id, gatewayFor)).outcome).toBe('sent');

    // the second refund's worker claims it; its call is on the way
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const refusal = sendRefund(api.sql, second!.id, slowCancel(opened));
    for (let i = 0; i < 100; i++) {
      const [row] = await api.sql`select refund_attempts as n from payments where id = ${second!.id}`;
      if (row!.n === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }

    // the notice is applied: it locks the refunds, records the 15,000 as made at the gateway
    // (neither refund is untried, nor more than the 30,000 it says is left) and, before it commits,
    // waits (here on the outbox, held by another transaction; in production: any slow moment)
    const holder = await api.sql.reserve();
    await holder`begin`;
    await holder`lock table outbox in exclusive mode`;
    const applied = applyGatewayPayment(api.sql, 'card', notice);
    await untilSomeoneWaitsForALock(api.sql, { statement: 'insert into outbox' });

    // the gateway refuses the second refund (nothing left); its refusal reads the refunds — locked
    // by the notice, so it waits, and its statement's snapshot predates the notice's new row
    open();
    await untilSomeoneWaitsForALock(api.sql, { statement: 'for update' });
    await holder`commit`;
    holder.release();
    await applied;
    await refusal;

    // the gateway gave back 45,000 (15,000 in its console, 30,000 under the first refund's key).
    // Applied one after the other, the refusal sees the console money recorded and gives the second
    // refund up (failed); here it also takes the 15,000 for itself: 60,000 recorded as sent
    expect((await flows.refundsOf(api, paymentId)).map((r) => [r.amount, r.status])).toEqual([
      ['30000.00', 'sent'],
      ['15000.00', 'failed'],
      ['15000.00', 'sent'],
    ]);
    expect(await money.refundViolationsOf(ref)).toEqual([]);
  });
});

describe('toss: a console cancel whose reason an operator copied from one of our refunds', () => {
  it('is still money given back at the gateway, recorded (not folded into that refund)', async () => {
    const { orderId, paymentId, ref, view } = await money.paidOrder('toss', 3);
    await money.cancelItems(orderId, [view.items[0].id]);
    await api.settle();
    const [refund] = await flows.refundsOf(api, paymentId);
    expect(refund!.status).toBe('sent');
    const ourReason = api.simulator.state.payments.get(ref)!.cancels[0]!.reason;
    expect(ourReason).toMatch(/\[refund-.+-\d+\]$/);

    // the operator gives a second seat's money back in Toss's console and, for the reason, copies
    // the one on the payment ("Refund 12 of order 34 [refund-…-12]"). The simulator's console
    // writes a fixed reason: what Toss keeps is set here
    api.simulator.setFaults(ref, ['noWebhook']);
    await flows.cancelAtGateway(api, ref, 15000);
    api.simulator.state.payments.get(ref)!.cancels[1]!.reason = ourReason;
    // its notice, as the webhook handler applies it
    const toss = await gatewayFor('toss');
    const payment = (await api.sql`select pg_tid from payments where id = ${paymentId}`)[0]!;
    await applyGatewayPayment(api.sql, 'toss', await toss.fetch({ paymentRef: ref, pgTid: payment.pg_tid }));
    await api.settle();

    // the gateway gave back 30,000; both cancellations read as the one refund: 15,000 recorded
    expect(await money.refundViolationsOf(ref)).toEqual([]);
  });
});
