import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError, type PaymentGateway } from '../../../domain/ports';
import { type RunningSimulator, startPgSimulator } from '../../../local/pg-simulator/index';
import type { FaultMode } from '../../../local/pg-simulator/state';
import { portoneGateway, portoneWebhooks } from './portone';

const apiSecret = 'portone-test-api-secret';
// the form PortOne's console shows: whsec_ + base64 of the key
const webhookSecret = `whsec_${Buffer.from('portone-test-webhook-key').toString('base64')}`;
const storeId = 'store-test';
const channelKey = 'channel-key-test';

interface ReceivedWebhook {
  headers: Record<string, string | undefined>;
  body: string;
}

let receiver: Server;
let received: ReceivedWebhook[] = [];
let sim: RunningSimulator;
let gateway: PaymentGateway;
let refs = 0;

beforeAll(async () => {
  // stands in for our API: records what PortOne's webhooks deliver
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  sim = await startPgSimulator({
    apiBase: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    tossSecretKey: 'unused',
    portoneApiSecret: apiSecret,
    portoneWebhookSecret: webhookSecret,
    builtinWebhookSecret: 'unused',
    webhookRetryDelaysMs: [50],
    timeoutFaultMs: 1000,
  });
  gateway = portoneGateway({ apiBase: sim.url, apiSecret, storeId, channelKey, timeoutMs: 300 });
});

afterAll(async () => {
  await sim?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

beforeEach(async () => {
  await sim.settled();
  sim.state.reset();
  received = [];
});

const newRef = () => `pay_portone_test_${process.pid}_${++refs}`;
const calls = (operation: string) => sim.state.counts.calls[`portone ${operation}`] ?? 0;
const refunds = () => sim.state.counts.refundsExecuted.portone ?? 0;
const webhooksFor = (paymentRef: string) =>
  received.filter(
    (w) => (JSON.parse(w.body) as { data: { paymentId: string } }).data.paymentId === paymentRef,
  );

/** Opens the payment window with what checkout() gives the browser SDK and presses a button. */
async function pay(
  paymentRef: string,
  amount = '15000.00',
  decision: 'approve' | 'decline' = 'approve',
  faults: FaultMode[] = [],
): Promise<URL> {
  if (faults.length) sim.setFaults(paymentRef, faults);
  const checkout = gateway.checkout({
    paymentId: 1,
    paymentRef,
    amount,
    orderName: 'Concert, 2 seats',
    customerKey: 'user-1',
  });
  const query = new URLSearchParams({
    ...Object.fromEntries(Object.entries(checkout).map(([k, v]) => [k, String(v)])),
    redirectUrl: 'http://shop.test/payments/done',
  });
  const window = await fetch(`${sim.url}/checkout/portone?${query}`);
  expect(window.status).toBe(200);
  expect(await window.text()).toContain('<form method="post" action="/checkout/portone">');
  const submitted = await fetch(`${sim.url}/checkout/portone`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ paymentId: paymentRef, decision }).toString(),
    redirect: 'manual',
  });
  expect(submitted.status).toBe(303);
  await sim.settled();
  return new URL(submitted.headers.get('location')!);
}

/** Re-signs a body the way PortOne does, with a chosen secret and timestamp. */
function signed(body: string, secret = webhookSecret, timestamp = Math.floor(Date.now() / 1000)) {
  const id = 'msg_test';
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${signature}`,
  };
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ kind?: string; code?: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { kind?: string; gatewayCode?: string; code?: string; status?: number };
    return { kind: e.kind, code: e.gatewayCode ?? e.code, status: e.status };
  }
  throw new Error('expected a failure');
}

describe('PortOne V2 adapter against the simulator', () => {
  it('gives the browser SDK exactly what PortOne.requestPayment takes', () => {
    expect(
      gateway.checkout({
        paymentId: 7,
        paymentRef: 'pay_abc',
        amount: '15000.00',
        orderName: 'Concert',
        customerKey: 'u',
      }),
    ).toEqual({
      storeId,
      channelKey,
      paymentId: 'pay_abc',
      orderName: 'Concert',
      totalAmount: 15000,
      currency: 'KRW',
    });
  });

  it('an approved payment sends a signed Transaction.Paid that names it, and fetching it says paid', async () => {
    const ref = newRef();
    const redirectedTo = await pay(ref);

    expect(redirectedTo.origin + redirectedTo.pathname).toBe('http://shop.test/payments/done');
    expect(redirectedTo.searchParams.get('paymentId')).toBe(ref);
    expect(redirectedTo.searchParams.get('code')).toBeNull();
    const [webhook] = webhooksFor(ref);
    expect(webhook).toBeDefined();
    expect(JSON.parse(webhook!.body)).toMatchObject({
      type: 'Transaction.Paid',
      data: { paymentId: ref, storeId },
    });

    const notice = await portoneWebhooks(webhookSecret).verify(webhook!.headers, webhook!.body);
    expect(notice).toEqual({
      kind: 'lookup',
      lookup: { notificationId: webhook!.headers['webhook-id'], paymentRef: ref, pgTid: expect.any(String) },
    });
    const payment = await gateway.fetch({ paymentRef: ref });
    expect(payment).toEqual({
      paymentRef: ref,
      pgTid: notice.kind === 'lookup' ? notice.lookup.pgTid : null,
      status: 'paid',
      amount: '15000.00',
      currency: 'KRW',
      cancelledAmount: '0.00',
      cancels: [],
      approvedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    // PortOne has nothing to capture: confirming is reading
    expect(await gateway.confirm({ paymentRef: ref, amount: '15000.00' })).toEqual(payment);
  });

  it('refuses a webhook with a tampered body, a wrong secret, a stale timestamp or no signature (401)', async () => {
    const ref = newRef();
    await pay(ref);
    const [webhook] = webhooksFor(ref);
    const adapter = portoneWebhooks(webhookSecret);
    const tampered = webhook!.body.replace(ref, 'pay_someone_else');

    expect(await failure(adapter.verify(webhook!.headers, tampered))).toMatchObject({
      code: 'INVALID_SIGNATURE',
      status: 401,
    });
    const otherSecret = `whsec_${Buffer.from('not-the-key').toString('base64')}`;
    expect(await failure(adapter.verify(signed(webhook!.body, otherSecret), webhook!.body))).toMatchObject({
      code: 'INVALID_SIGNATURE',
      status: 401,
    });
    const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
    expect(
      await failure(adapter.verify(signed(webhook!.body, webhookSecret, tenMinutesAgo), webhook!.body)),
    ).toMatchObject({ code: 'INVALID_SIGNATURE', status: 401 });
    expect(await failure(adapter.verify({}, webhook!.body))).toMatchObject({ code: 'INVALID_SIGNATURE' });
    // the same body freshly signed with the right secret passes
    await expect(adapter.verify(signed(webhook!.body), webhook!.body)).resolves.toMatchObject({
      kind: 'lookup',
    });
  });

  it('refuses a correctly signed body that is not a PortOne transaction webhook (400)', async () => {
    const adapter = portoneWebhooks(webhookSecret);
    for (const body of [
      'not json',
      '{"type":"Transaction.Paid","timestamp":"t","data":{}}',
      '{"type":"x"}',
    ]) {
      expect(await failure(adapter.verify(signed(body), body))).toMatchObject({
        code: 'VALIDATION_FAILED',
        status: 400,
      });
    }
  });

  it('works with the default PORTONE_WEBHOOK_SECRET form (whsec_ + base64)', async () => {
    const { getConfig } = await import('../../../domain/config');
    const secret = getConfig().PORTONE_WEBHOOK_SECRET;
    const body = JSON.stringify({
      type: 'Transaction.Paid',
      timestamp: new Date().toISOString(),
      data: { paymentId: 'pay_x', storeId, transactionId: 'tx' },
    });
    await expect(portoneWebhooks(secret).verify(signed(body, secret), body)).resolves.toMatchObject({
      lookup: { paymentRef: 'pay_x', pgTid: 'tx' },
    });
  });

  it('a declined payment redirects with PortOne failure code, sends Transaction.Failed and fetches as failed', async () => {
    const ref = newRef();
    const redirectedTo = await pay(ref, '15000.00', 'decline');

    expect(redirectedTo.searchParams.get('paymentId')).toBe(ref);
    expect(redirectedTo.searchParams.get('code')).toBe('FAILURE_TYPE_PG');
    expect(redirectedTo.searchParams.get('message')).toBeTruthy();
    expect(JSON.parse(webhooksFor(ref)[0]!.body)).toMatchObject({ type: 'Transaction.Failed' });
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({
      status: 'failed',
      amount: '15000.00',
      failure: { code: 'REJECT_CARD_COMPANY', message: expect.any(String) },
    });
  });

  it('the decline fault fails an approved payment', async () => {
    const ref = newRef();
    await pay(ref, '15000.00', 'approve', ['decline']);
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({ status: 'failed' });
  });

  it('a pending payment (window open, not yet decided) fetches as pending', async () => {
    const ref = newRef();
    const query = new URLSearchParams({
      storeId,
      channelKey,
      paymentId: ref,
      orderName: 'o',
      totalAmount: '1000',
      currency: 'KRW',
      redirectUrl: 'http://shop.test/done',
    });
    expect((await fetch(`${sim.url}/checkout/portone?${query}`)).status).toBe(200);
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({ status: 'pending', amount: '1000.00' });
  });

  it('retries a 500 and then reports unavailable', async () => {
    const ref = newRef();
    await pay(ref);
    sim.setFaults(ref, ['error500']);
    expect(await failure(gateway.fetch({ paymentRef: ref }))).toMatchObject({ kind: 'unavailable' });
    expect(calls('fetch')).toBe(3);
  });

  it('gives up on a call that hangs past the timeout, retries it, then reports unavailable', async () => {
    const ref = newRef();
    await pay(ref);
    sim.setFaults(ref, ['timeout']);
    const started = Date.now();
    expect(await failure(gateway.fetch({ paymentRef: ref }))).toMatchObject({
      kind: 'unavailable',
      code: 'TIMEOUT',
    });
    // three attempts of 300 ms and the backoff between them, well short of the 1 s hang each
    expect(Date.now() - started).toBeLessThan(2500);
    expect(calls('fetch')).toBe(3);
  });

  it('a cancel failing twice with a 500 is retried and executed once', async () => {
    const ref = newRef();
    await pay(ref);
    sim.setFaults(ref, ['refundFailsTwice']);

    const result = await gateway.cancel({
      paymentRef: ref,
      amount: '15000.00',
      reason: 'order cancelled',
      idempotencyKey: 'refund-1',
    });

    expect(result.cancelledAt).toMatch(/^\d{4}-/);
    expect(calls('cancel')).toBe(3);
    expect(refunds()).toBe(1);
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({
      status: 'cancelled',
      cancelledAmount: '15000.00',
    });
    expect(webhooksFor(ref).map((w) => JSON.parse(w.body).type)).toEqual([
      'Transaction.Paid',
      'Transaction.Cancelled',
    ]);
  });

  it('a cancel whose answer is lost is recognised on retry, by the adapter and later by the worker: executed once', async () => {
    const ref = newRef();
    await pay(ref);
    sim.setFaults(ref, ['refundLosesAnswer']);
    const request = {
      paymentRef: ref,
      amount: '15000.00',
      reason: 'order cancelled',
      idempotencyKey: 'refund-2',
    };

    await expect(gateway.cancel(request)).resolves.toMatchObject({ cancelledAt: expect.any(String) });
    // the refund worker retrying the same refund later (it never saw the answer either)
    await expect(gateway.cancel(request)).resolves.toMatchObject({ cancelledAt: expect.any(String) });

    expect(refunds()).toBe(1);
    // the lost answer, then its retry refused (the balance moved) and recognised by our marker; the
    // worker's later attempt finds the marker before sending anything
    expect(calls('cancel')).toBe(2);
  });

  it('a partial cancel leaves the payment paid with its cancelled amount; the rest can follow', async () => {
    const ref = newRef();
    await pay(ref);

    await gateway.cancel({
      paymentRef: ref,
      amount: '5000.00',
      reason: 'one seat',
      idempotencyKey: 'refund-3a',
    });
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({
      status: 'paid',
      amount: '15000.00',
      cancelledAmount: '5000.00',
    });

    await gateway.cancel({
      paymentRef: ref,
      amount: '10000.00',
      reason: 'the other seats',
      idempotencyKey: 'refund-3b',
    });
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({
      status: 'cancelled',
      cancelledAmount: '15000.00',
    });
    expect(refunds()).toBe(2);
    await sim.settled();
    expect(webhooksFor(ref).map((w) => JSON.parse(w.body).type)).toEqual([
      'Transaction.Paid',
      'Transaction.PartialCancelled',
      'Transaction.Cancelled',
    ]);
  });

  it("reports each cancellation, ours with the refund's key our cancel put in its reason", async () => {
    const ref = newRef();
    await pay(ref);
    const key = `refund-${ref}-31`;
    await gateway.cancel({
      paymentRef: ref,
      amount: '5000.00',
      reason: 'one seat',
      idempotencyKey: key,
    });
    // and 4,000 in PortOne's console
    const res = await fetch(`${sim.url}/_sim/payments/${ref}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 4000 }),
    });
    expect(res.status).toBe(200);

    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({
      cancelledAmount: '9000.00',
      cancels: [
        { amount: '5000.00', refundKey: key },
        { amount: '4000.00', refundKey: null },
      ],
    });
  });

  it('a second refund is sent against PortOne’s balance, not ours, and a repeat of the first is not sent again', async () => {
    const ref = newRef();
    await pay(ref);
    const first = {
      paymentRef: ref,
      amount: '5000.00',
      reason: 'one seat',
      idempotencyKey: 'refund-4a',
    };
    await gateway.cancel(first);

    // our record still says 15000 cancellable (the first refund's 'sent' not written yet)
    await gateway.cancel({ ...first, reason: 'another seat', idempotencyKey: 'refund-4b' });
    await gateway.cancel(first);

    expect(refunds()).toBe(2);
    expect(await gateway.fetch({ paymentRef: ref })).toMatchObject({ cancelledAmount: '10000.00' });
  });

  it('a wrong API secret or an unknown payment is rejected, without retries', async () => {
    const ref = newRef();
    await pay(ref);
    const wrong = portoneGateway({
      apiBase: sim.url,
      apiSecret: 'wrong',
      storeId,
      channelKey,
      timeoutMs: 300,
    });

    expect(await failure(wrong.fetch({ paymentRef: ref }))).toMatchObject({
      kind: 'rejected',
      code: 'UNAUTHORIZED',
    });
    expect(
      await failure(
        wrong.cancel({
          paymentRef: ref,
          amount: '15000.00',
          reason: 'r',
          idempotencyKey: 'k',
        }),
      ),
    ).toMatchObject({ kind: 'rejected', code: 'UNAUTHORIZED' });
    expect(await failure(gateway.fetch({ paymentRef: 'pay_nobody_knows' }))).toMatchObject({
      kind: 'rejected',
      code: 'PAYMENT_NOT_FOUND',
    });
    // the cancel reads the payment first: refused there, it never sends the cancel
    expect(calls('fetch')).toBe(3);
    expect(refunds()).toBe(0);
  });

  it('refuses an API base with a path, which the SDK would silently drop', () => {
    expect(() =>
      portoneGateway({ apiBase: `${sim.url}/portone`, apiSecret, storeId, channelKey, timeoutMs: 300 }),
    ).toThrow(/origin/);
    expect(() =>
      portoneGateway({ apiBase: `${sim.url}/`, apiSecret, storeId, channelKey, timeoutMs: 300 }),
    ).not.toThrow();
  });

  it('refuses amounts that are not whole won', () => {
    expect(() =>
      gateway.checkout({ paymentId: 1, paymentRef: 'p', amount: '10.50', orderName: 'o', customerKey: 'c' }),
    ).toThrow(GatewayError);
  });
});
