import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../domain/errors';
import { GatewayError, type PaymentGateway } from '../../../domain/ports';
import { type RunningSimulator, startPgSimulator } from '../../../local/pg-simulator/index';
import type { FaultMode } from '../../../local/pg-simulator/state';
import { tossGateway, tossWebhooks } from './toss';

/**
 * The Toss adapter against the simulator's Toss API over real HTTP: what it sends (paths, Basic
 * auth, JSON, Idempotency-Key) and how it reads Toss's answers and errors. Webhooks go to a small
 * server of the test's own.
 */
const SECRET_KEY = 'test_sk_contract';
let sim: RunningSimulator;
let toss: PaymentGateway;
let hooks: Server;
const received: { path: string; body: string }[] = [];

beforeAll(async () => {
  hooks = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  sim = await startPgSimulator({
    apiBase: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`,
    tossSecretKey: SECRET_KEY,
    portoneApiSecret: 'unused',
    portoneWebhookSecret: 'unused',
    builtinWebhookSecret: 'unused',
    timeoutFaultMs: 1000,
    webhookRetryDelaysMs: [50],
  });
  toss = gateway(SECRET_KEY);
});

afterAll(async () => {
  await sim.close();
  hooks.closeAllConnections();
  await new Promise((resolve) => hooks.close(resolve));
});

const gateway = (secretKey: string) =>
  tossGateway({ apiBase: `${sim.url}/toss`, clientKey: 'test_ck_contract', secretKey, timeoutMs: 300 });

const newRef = () => `pay_${randomBytes(16).toString('hex')}`;

const windowFields = (orderId: string, amount: number) => ({
  clientKey: 'test_ck_contract',
  orderId,
  amount: String(amount),
  orderName: 'Concert, 2 seats',
  customerKey: 'user_7',
  successUrl: 'http://app.test/pay/toss/success?order=42',
  failUrl: 'http://app.test/pay/toss/fail',
});

/** The buyer approves in the checkout page: Toss's redirect to successUrl carries the paymentKey. */
async function approve(orderId: string, amount = 15000, faults: FaultMode[] = []): Promise<string> {
  if (faults.length) sim.setFaults(orderId, faults);
  const response = await fetch(`${sim.url}/checkout/toss/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(windowFields(orderId, amount)).toString(),
    redirect: 'manual',
  });
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location')!);
  expect(location.searchParams.get('orderId')).toBe(orderId);
  expect(location.searchParams.get('amount')).toBe(String(amount));
  return location.searchParams.get('paymentKey')!;
}

async function paid(amount = 15000, faults: FaultMode[] = []) {
  const paymentRef = newRef();
  const pgTid = await approve(paymentRef, amount);
  await toss.confirm({ paymentRef, pgTid, amount: `${amount}.00` });
  if (faults.length) sim.setFaults(paymentRef, faults);
  return { paymentRef, pgTid };
}

const calls = (operation: string) => sim.state.counts.calls[`toss ${operation}`] ?? 0;
const refunds = () => sim.state.counts.refundsExecuted.toss ?? 0;

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

describe('checkout', () => {
  it("gives Toss's SDK the client key, our payment's public id as orderId and the amount in won", () => {
    const checkout = toss.checkout({
      paymentId: 7,
      paymentRef: 'pay_0123456789abcdef',
      amount: '15000.00',
      orderName: 'Concert, 2 seats',
      customerKey: 'user_7',
    });
    expect(checkout).toStrictEqual({
      clientKey: 'test_ck_contract',
      orderId: 'pay_0123456789abcdef',
      orderName: 'Concert, 2 seats',
      amount: 15000,
      customerKey: 'user_7',
    });
  });

  it('refuses a fraction of a won instead of rounding it', () => {
    const request = {
      paymentId: 7,
      paymentRef: newRef(),
      amount: '15000.50',
      orderName: 'x',
      customerKey: 'u',
    };
    expect(() => toss.checkout(request)).toThrow(GatewayError);
  });

  it('the checkout page shows the order with approve and decline forms', async () => {
    const query = new URLSearchParams(windowFields(newRef(), 15000));
    const response = await fetch(`${sim.url}/checkout/toss?${query}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('15,000 KRW');
    expect(html).toMatch(/<form method="post" action="\/checkout\/toss\/approve">.*<button type="submit">/s);
    expect(html).toContain('action="/checkout/toss/decline"');

    const bad = await fetch(`${sim.url}/checkout/toss?${new URLSearchParams({ orderId: 'x' })}`);
    expect(bad.status).toBe(400);
  });

  it("declining sends the buyer to failUrl with Toss's PAY_PROCESS_CANCELED", async () => {
    const orderId = newRef();
    const response = await fetch(`${sim.url}/checkout/toss/decline`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(windowFields(orderId, 15000)),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.pathname).toBe('/pay/toss/fail');
    expect(location.searchParams.get('code')).toBe('PAY_PROCESS_CANCELED');
    expect(location.searchParams.get('orderId')).toBe(orderId);
  });
});

describe('confirm', () => {
  it('captures the authorised payment: paid, with the amount, approval time and paymentKey mapped', async () => {
    const paymentRef = newRef();
    const pgTid = await approve(paymentRef);
    expect(await toss.fetch({ paymentRef, pgTid })).toMatchObject({ status: 'pending', approvedAt: null });

    const before = Date.now();
    const payment = await toss.confirm({ paymentRef, pgTid, amount: '15000.00' });

    expect(payment).toStrictEqual({
      paymentRef,
      pgTid,
      status: 'paid',
      amount: '15000.00',
      cancelledAmount: '0.00',
      cancels: [],
      approvedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    // Toss's second-precision KST timestamp, read back as UTC
    expect(Math.abs(Date.parse(payment.approvedAt!) - before)).toBeLessThan(5000);
  });

  it('a second confirm is answered ALREADY_PROCESSED_PAYMENT and resolved by fetching the same payment', async () => {
    const paymentRef = newRef();
    const pgTid = await approve(paymentRef);
    const first = await toss.confirm({ paymentRef, pgTid, amount: '15000.00' });
    const [confirms, fetches] = [calls('confirm'), calls('fetch')];

    const second = await toss.confirm({ paymentRef, pgTid, amount: '15000.00' });

    expect(second).toStrictEqual(first);
    expect([calls('confirm') - confirms, calls('fetch') - fetches]).toEqual([1, 1]);
  });

  it("a declined card is 'declined' with Toss's code, and the payment then reads as failed", async () => {
    const paymentRef = newRef();
    const pgTid = await approve(paymentRef, 15000, ['decline']);

    const error = await failure(toss.confirm({ paymentRef, pgTid, amount: '15000.00' }));

    expect([error.kind, error.gatewayCode]).toEqual(['declined', 'REJECT_CARD_COMPANY']);
    expect(await toss.fetch({ paymentRef, pgTid })).toMatchObject({
      status: 'failed',
      failure: { code: 'REJECT_CARD_COMPANY' },
    });
  });

  it.each([
    ['error500', 'FAILED_INTERNAL_SYSTEM_PROCESSING'],
    ['timeout', 'TIMEOUT'],
  ] as const)("%s is retried, then 'unavailable'", async (fault, code) => {
    const paymentRef = newRef();
    const pgTid = await approve(paymentRef, 15000, [fault]);
    const confirms = calls('confirm');

    const error = await failure(toss.confirm({ paymentRef, pgTid, amount: '15000.00' }));

    expect([error.kind, error.gatewayCode]).toEqual(['unavailable', code]);
    expect(calls('confirm') - confirms).toBe(3);
  });

  it("a wrong amount, an unknown paymentKey or a wrong secret key is 'rejected'", async () => {
    const paymentRef = newRef();
    const pgTid = await approve(paymentRef);

    const wrongAmount = await failure(toss.confirm({ paymentRef, pgTid, amount: '1000.00' }));
    const unknownKey = await failure(toss.confirm({ paymentRef, pgTid: 'tsimu_nope', amount: '15000.00' }));
    const wrongSecret = await failure(
      gateway('test_sk_wrong').confirm({ paymentRef, pgTid, amount: '15000.00' }),
    );

    expect([wrongAmount.kind, wrongAmount.gatewayCode]).toEqual(['rejected', 'INVALID_REQUEST']);
    expect([unknownKey.kind, unknownKey.gatewayCode]).toEqual(['rejected', 'NOT_FOUND_PAYMENT_SESSION']);
    expect([wrongSecret.kind, wrongSecret.gatewayCode]).toEqual(['rejected', 'UNAUTHORIZED_KEY']);
    // none of them captured it
    expect(await toss.fetch({ paymentRef })).toMatchObject({ status: 'pending' });
  });
});

describe('fetch', () => {
  it('reads the payment by paymentKey and by orderId alike', async () => {
    const { paymentRef, pgTid } = await paid();

    const byKey = await toss.fetch({ paymentRef, pgTid });
    const byOrder = await toss.fetch({ paymentRef, pgTid: null });

    expect(byKey).toStrictEqual(byOrder);
    expect(byKey).toMatchObject({ paymentRef, pgTid, status: 'paid', amount: '15000.00' });
  });

  it("an unknown payment, or a paymentKey of another order, is 'rejected'", async () => {
    const other = await paid();

    const unknown = await failure(toss.fetch({ paymentRef: newRef() }));
    const someoneElses = await failure(toss.fetch({ paymentRef: newRef(), pgTid: other.pgTid }));
    const wrongSecret = await failure(gateway('test_sk_wrong').fetch(other));

    expect([unknown.kind, unknown.gatewayCode]).toEqual(['rejected', 'NOT_FOUND_PAYMENT']);
    expect([someoneElses.kind, someoneElses.gatewayCode]).toEqual(['rejected', 'ORDER_ID_MISMATCH']);
    expect([wrongSecret.kind, wrongSecret.gatewayCode]).toEqual(['rejected', 'UNAUTHORIZED_KEY']);
  });
});

describe('cancel', () => {
  /** A cancel in Toss's merchant console: no key of ours. */
  const consoleCancel = async (paymentRef: string, won: number) => {
    const res = await fetch(`${sim.url}/_sim/payments/${paymentRef}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: won }),
    });
    expect(res.status).toBe(200);
  };
  const cancelOf = (ref: { paymentRef: string; pgTid: string }, amount: string, key = newRef()) => ({
    ...ref,
    amount,
    reason: 'order cancelled',
    idempotencyKey: key,
  });

  it('a cancel failing twice with a 500 succeeds on the third call, executed once', async () => {
    const payment = await paid(15000, ['refundFailsTwice']);
    const [cancels, executed] = [calls('cancel'), refunds()];

    const { cancelledAt } = await toss.cancel(cancelOf(payment, '15000.00'));

    expect(Date.parse(cancelledAt)).not.toBeNaN();
    expect([calls('cancel') - cancels, refunds() - executed]).toEqual([3, 1]);
    expect(await toss.fetch(payment)).toMatchObject({ status: 'cancelled', cancelledAmount: '15000.00' });
  });

  it('a cancel whose answer was lost, retried with the same key, is executed once', async () => {
    const payment = await paid(15000, ['refundLosesAnswer']);
    // partial: a second execution would not be caught by ALREADY_CANCELED_PAYMENT
    const request = cancelOf(payment, '5000.00');
    const [cancels, executed] = [calls('cancel'), refunds()];

    const first = await toss.cancel(request);
    // the refund worker retrying the same refund later: the same key, the same answer
    const again = await toss.cancel(request);

    expect(again).toStrictEqual(first);
    expect([calls('cancel') - cancels, refunds() - executed]).toEqual([3, 1]);
    expect(await toss.fetch(payment)).toMatchObject({ status: 'paid', cancelledAmount: '5000.00' });
  });

  it('a cancel that times out is executed once, however often it is retried with its key', async () => {
    const payment = await paid(15000, ['timeout']);
    const request = cancelOf(payment, '15000.00');
    const executed = refunds();

    // the first call hangs past the deadline; its retries find it still running (409)
    const error = await failure(toss.cancel(request));
    await new Promise((r) => setTimeout(r, 1200));
    sim.setFaults(payment.paymentRef, []);
    const later = await toss.cancel(request);

    expect([error.kind, error.gatewayCode]).toEqual(['unavailable', 'IDEMPOTENT_REQUEST_PROCESSING']);
    expect(Date.parse(later.cancelledAt)).not.toBeNaN();
    expect(refunds() - executed).toBe(1);
  });

  it('a partial cancel leaves the payment paid with the cancelled part; more than the balance is refused', async () => {
    const payment = await paid();

    await toss.cancel(cancelOf(payment, '5000.00'));
    const partly = await toss.fetch(payment);
    const tooMuch = await failure(toss.cancel(cancelOf(payment, '12000.00')));
    await toss.cancel(cancelOf(payment, '10000.00'));

    expect(partly).toMatchObject({ status: 'paid', amount: '15000.00', cancelledAmount: '5000.00' });
    expect([tooMuch.kind, tooMuch.gatewayCode]).toEqual(['rejected', 'NOT_CANCELABLE_AMOUNT']);
    expect(await toss.fetch(payment)).toMatchObject({ status: 'cancelled', cancelledAmount: '15000.00' });
  });

  it('ALREADY_CANCELED_PAYMENT is a refusal like any other: the payment says whose the cancellation was', async () => {
    const payment = await paid();
    await toss.cancel(cancelOf(payment, '15000.00', `refund-${payment.paymentRef}-7`));
    const executed = refunds();

    // cancelled already, under another key: what Toss gave back is for the domain to read
    const refused = await failure(toss.cancel(cancelOf(payment, '15000.00')));

    expect([refused.kind, refused.gatewayCode]).toEqual(['rejected', 'ALREADY_CANCELED_PAYMENT']);
    expect(refunds()).toBe(executed);
  });

  it("our refund's key travels in the cancel reason and comes back on the payment's cancellations", async () => {
    const payment = await paid();
    const key = `refund-${payment.paymentRef}-12`;

    await toss.cancel(cancelOf(payment, '5000.00', key));
    await consoleCancel(payment.paymentRef, 4000);

    const kept = sim.state.payments.get(payment.paymentRef)!.cancels.map((c) => c.reason);
    expect(kept[0]).toBe(`order cancelled [${key}]`);
    expect((await toss.fetch(payment)).cancels).toEqual([
      { amount: '5000.00', refundKey: key },
      { amount: '4000.00', refundKey: null },
    ]);
  });

  it('refuses a fraction of a won without calling Toss', async () => {
    const payment = await paid();
    const cancels = calls('cancel');

    const error = await failure(toss.cancel(cancelOf(payment, '100.50')));

    expect([error.kind, calls('cancel')]).toEqual(['rejected', cancels]);
  });
});

describe('webhooks', () => {
  it('PAYMENT_STATUS_CHANGED reaches /webhooks/pg/toss and becomes a lookup of the payment it names', async () => {
    const { paymentRef, pgTid } = await paid();
    await sim.settled();

    const hook = received.find((r) => r.body.includes(paymentRef))!;
    const notice = await tossWebhooks().verify({ 'content-type': 'application/json' }, hook.body);

    expect(hook.path).toBe('/webhooks/pg/toss');
    expect(JSON.parse(hook.body)).toMatchObject({
      eventType: 'PAYMENT_STATUS_CHANGED',
      data: { paymentKey: pgTid, orderId: paymentRef, status: 'DONE', totalAmount: 15000 },
    });
    await toss.cancel({
      paymentRef,
      pgTid,
      amount: '15000.00',
      reason: 'r',
      idempotencyKey: newRef(),
    });
    await sim.settled();
    const statuses = received
      .filter((r) => r.body.includes(paymentRef))
      .map((r) => JSON.parse(r.body).data.status);
    expect(statuses).toEqual(['DONE', 'CANCELED']);
    expect(notice).toStrictEqual({
      kind: 'lookup',
      lookup: {
        notificationId: expect.stringMatching(new RegExp(`^${pgTid}:DONE:`)),
        paymentRef,
        pgTid,
      },
    });
  });

  it.each([
    ['not JSON', '{"eventType":'],
    [
      'no data',
      JSON.stringify({ eventType: 'PAYMENT_STATUS_CHANGED', createdAt: '2026-01-02T14:46:59.653270' }),
    ],
    [
      'another event type',
      JSON.stringify({
        createdAt: 'x',
        eventType: 'DEPOSIT_CALLBACK',
        data: { paymentKey: 'k', orderId: 'o' },
      }),
    ],
    [
      'a bad orderId',
      JSON.stringify({
        eventType: 'PAYMENT_STATUS_CHANGED',
        createdAt: '2026-01-02T14:46:59.653270',
        data: { paymentKey: 'k', orderId: '../x', status: 'DONE' },
      }),
    ],
  ])('a body with %s is refused with a 400', async (_, body) => {
    const error = await tossWebhooks()
      .verify({}, body)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
  });
});
