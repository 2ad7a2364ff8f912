import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../db/vocabulary';
import { gatewayFor } from '../functions/adapters/gateways';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, type Show } from '../test/fixtures';
import * as flows from '../test/gateway-flows';
import { applyGatewayPayment } from './payments';
import type { PaymentGateway } from './ports';
import { sendRefund } from './refunds';

/**
 * Review of fa44195, b7c265d, 681c116 (refunds attributed by their keys). Each test is a sequence
 * that leaves what the gateway gave back of a payment different from what we record as sent.
 */
let api: TestApi;
let show: Show;
let fan: string;
let money: ReturnType<typeof flows.fanMoneyFlows>;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '1000' });
  show = await createShow(api.sql, { rows: 10, seatsPerRow: 20, price: 15000 });
  fan = await api.token('refunds-keys-review-fan');
  money = flows.fanMoneyFlows(api, fan, show);
});
afterAll(async () => {
  await api.settle();
  await api.close();
});

/** Resolves once some backend waits on a lock while running a statement that contains `fragment`. */
async function blockedOn(fragment: string) {
  for (let i = 0; i < 500; i++) {
    const [row] = await api.sql`
      select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and query ilike ${`%${fragment}%`}`;
    if (row!.n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing blocked on ${fragment}`);
}

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
    await blockedOn('insert into outbox');

    // the gateway refuses the second refund (nothing left); its refusal reads the refunds — locked
    // by the notice, so it waits, and its statement's snapshot predates the notice's new row
    open();
    await blockedOn('for update');
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
