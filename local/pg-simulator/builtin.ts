import { randomBytes, randomUUID } from 'node:crypto';
import { sign } from '../../functions/adapters/pg-webhooks';
import {
  escapeHtml,
  redirect,
  registerGatewaySideCancel,
  registerSimHandler,
  type SimContext,
  type SimRequest,
  sendHtml,
  sendJson,
  sleep,
} from './index';
import type { SimPayment } from './state';

/**
 * The built-in gateway (card, kakao, naver): its checkout page, its signed webhooks in the format of
 * API.md, and the small signed API the adapter calls (functions/adapters/gateways/builtin.ts).
 */
const SIGNED_PROVIDERS = new Set(['card', 'kakao', 'naver']);
const cents = (n: number) => (n / 100).toFixed(2);
/** How the simulator keys a cancel made in the gateway's console (it has no Idempotency-Key). */
const CONSOLE_KEY = 'console_';

registerSimHandler(async (req, res, ctx) => {
  const path = req.url.pathname;
  if (!path.startsWith('/builtin/')) return false;

  if (path === '/builtin/checkout' && req.method === 'GET') {
    sendHtml(res, 200, checkoutPage(req.url.searchParams));
    return true;
  }
  if (path === '/builtin/checkout' && req.method === 'POST') {
    const form = new URLSearchParams(req.body);
    const outcome = form.get('outcome') === 'decline' ? 'decline' : 'approve';
    const payment = decide(ctx, form, outcome);
    if (!payment) {
      sendJson(res, 400, {
        code: 'INVALID_REQUEST',
        message: 'provider, paymentId, paymentRef and amount are required',
      });
      return true;
    }
    const back = form.get('redirectUrl');
    if (back) {
      const url = new URL(back);
      url.searchParams.set('paymentRef', payment.paymentRef);
      url.searchParams.set('status', payment.status);
      redirect(res, url.toString());
    } else sendJson(res, 200, view(payment));
    return true;
  }

  // the API: every call is signed by the merchant with the shared secret
  if (!verified(req, ctx)) {
    sendJson(res, 401, { code: 'INVALID_SIGNATURE', message: 'PG-Signature is missing or does not match' });
    return true;
  }
  const match = path.match(/^\/builtin\/v1\/payments\/([^/]+)(\/cancel)?$/);
  if (!match) return false;
  const ref = decodeURIComponent(match[1]!);
  const payment = ctx.state.payments.get(ref);
  const isCancel = match[2] === '/cancel' && req.method === 'POST';
  ctx.state.count('builtin', isCancel ? 'cancel' : 'fetch');
  if (ctx.state.hasFault(ref, 'timeout')) await sleep(ctx.options.timeoutFaultMs);
  if (ctx.state.hasFault(ref, 'error500')) {
    sendJson(res, 500, { code: 'INTERNAL_ERROR', message: 'simulated failure' });
    return true;
  }
  if (payment?.provider !== 'builtin') {
    sendJson(res, 404, { code: 'PAYMENT_NOT_FOUND', message: `No payment ${ref}` });
    return true;
  }
  if (!isCancel) {
    sendJson(res, 200, view(payment));
    return true;
  }
  const key = String(req.headers['idempotency-key'] ?? '');
  if (!key) {
    sendJson(res, 400, { code: 'IDEMPOTENCY_KEY_REQUIRED', message: 'Idempotency-Key is required' });
    return true;
  }
  if (ctx.state.takeFault(ref, 'refundFailsTwice')) {
    sendJson(res, 500, { code: 'INTERNAL_ERROR', message: 'simulated refund failure' });
    return true;
  }
  const done = payment.cancels.find((c) => c.key === key);
  if (done) {
    sendJson(res, 200, { paymentRef: ref, cancelledAmount: cents(done.amount), cancelledAt: done.at });
    return true;
  }
  const { amount, reason } = JSON.parse(req.body || '{}') as { amount?: string; reason?: string };
  const wanted = Math.round(Number(amount) * 100);
  const balance = payment.amount - payment.cancels.reduce((n, c) => n + c.amount, 0);
  if (payment.status !== 'paid' && payment.status !== 'partially_cancelled') {
    sendJson(res, 409, { code: 'NOT_CANCELLABLE', message: `The payment is ${payment.status}` });
    return true;
  }
  if (!(wanted > 0) || wanted > balance) {
    sendJson(res, 409, {
      code: 'NOT_CANCELLABLE',
      message: `Cannot cancel ${amount}: ${cents(balance)} left`,
    });
    return true;
  }
  const cancel = { key, amount: wanted, reason: reason ?? '', at: new Date().toISOString() };
  payment.cancels.push(cancel);
  payment.status = wanted === balance ? 'cancelled' : 'partially_cancelled';
  ctx.state.recordRefund('builtin');
  if (ctx.state.takeFault(ref, 'refundLosesAnswer')) {
    sendJson(res, 500, { code: 'INTERNAL_ERROR', message: 'the refund went through, the answer did not' });
    return true;
  }
  sendJson(res, 200, { paymentRef: ref, cancelledAmount: cents(wanted), cancelledAt: cancel.at });
  return true;
});

/**
 * A cancel the gateway made on its own (its console, a chargeback): the money goes back and the
 * gateway says so with a signed `payment.cancelled` carrying everything cancelled so far.
 */
registerGatewaySideCancel('builtin', (ctx, payment, won) => {
  const balance = payment.amount - payment.cancels.reduce((n, c) => n + c.amount, 0);
  const amount = won === undefined ? balance : Math.round(won * 100);
  if ((payment.status !== 'paid' && payment.status !== 'partially_cancelled') || amount > balance)
    return { status: 409, body: { code: 'NOT_CANCELLABLE', message: `${cents(balance)} left` } };
  const at = new Date().toISOString();
  payment.cancels.push({
    key: `${CONSOLE_KEY}${randomUUID()}`,
    amount,
    reason: 'Cancelled by the gateway',
    at,
  });
  payment.status = amount === balance ? 'cancelled' : 'partially_cancelled';
  ctx.state.recordRefund('builtin');
  const event = {
    eventId: `evt_${randomUUID()}`,
    type: 'payment.cancelled',
    paymentId: payment.extra.paymentId,
    pgTid: payment.pgTid,
    amount: cents(payment.cancels.reduce((n, c) => n + c.amount, 0)),
    occurredAt: at,
  };
  const body = JSON.stringify(event);
  ctx.deliver(
    'builtin',
    payment.paymentRef,
    `/webhooks/pg/${String(payment.extra.provider)}`,
    { 'pg-signature': sign(ctx.options.builtinWebhookSecret, body) },
    body,
  );
  return { status: 200, body: view(payment) };
});

function verified(req: SimRequest, ctx: SimContext): boolean {
  const header = String(req.headers['pg-signature'] ?? '');
  const t = Number(header.match(/t=(\d+)/)?.[1]);
  return Number.isInteger(t) && sign(ctx.options.builtinWebhookSecret, req.body, t) === header;
}

/** The buyer approved or declined in the window: the gateway's record, and its signed webhook. */
function decide(
  ctx: SimContext,
  form: URLSearchParams,
  outcome: 'approve' | 'decline',
): SimPayment | undefined {
  const provider = form.get('provider') ?? '';
  const paymentId = Number(form.get('paymentId'));
  const paymentRef = form.get('paymentRef') ?? '';
  const amount = Math.round(Number(form.get('amount')) * 100);
  if (!SIGNED_PROVIDERS.has(provider) || !Number.isSafeInteger(paymentId) || !paymentRef || !(amount >= 0))
    return undefined;
  const declined = outcome === 'decline' || ctx.state.hasFault(paymentRef, 'decline');
  const payment = recordCharge(ctx, { provider, paymentId, paymentRef, amount: cents(amount) }, !declined);
  const event = {
    eventId: `evt_${randomUUID()}`,
    type: declined ? 'payment.failed' : 'payment.succeeded',
    paymentId,
    pgTid: payment.pgTid,
    amount: cents(amount),
    occurredAt: new Date().toISOString(),
  };
  const body = JSON.stringify(event);
  ctx.deliver(
    'builtin',
    paymentRef,
    `/webhooks/pg/${provider}`,
    { 'pg-signature': sign(ctx.options.builtinWebhookSecret, body) },
    body,
  );
  return payment;
}

/**
 * The gateway's record of a charge (or a refused one). Tests that send the built-in webhook
 * themselves call this too, so the gateway knows the money it is later asked to give back.
 */
export function recordCharge(
  ctx: Pick<SimContext, 'state'>,
  charge: { provider: string; paymentId: number; paymentRef: string; amount: string; pgTid?: string },
  paid: boolean,
): SimPayment {
  const payment: SimPayment = {
    provider: 'builtin',
    paymentRef: charge.paymentRef,
    pgTid: charge.pgTid ?? `bt_${randomBytes(8).toString('hex')}`,
    amount: Math.round(Number(charge.amount) * 100),
    orderName: '',
    status: paid ? 'paid' : 'failed',
    approvedAt: paid ? new Date().toISOString() : null,
    ...(paid ? {} : { failure: { code: 'CARD_DECLINED', message: 'The card was declined' } }),
    cancels: [],
    extra: { provider: charge.provider, paymentId: charge.paymentId },
  };
  ctx.state.payments.set(charge.paymentRef, payment);
  return payment;
}

function view(p: SimPayment) {
  const cancelled = p.cancels.reduce((n, c) => n + c.amount, 0);
  return {
    paymentRef: p.paymentRef,
    pgTid: p.pgTid,
    status:
      p.status === 'partially_cancelled'
        ? 'paid'
        : p.status === 'authorized' || p.status === 'ready'
          ? 'pending'
          : p.status,
    amount: cents(p.amount),
    cancelledAmount: cents(cancelled),
    // each cancellation with the Idempotency-Key it was made under (none: made in the console)
    cancels: p.cancels.map((c) => ({
      amount: cents(c.amount),
      idempotencyKey: c.key.startsWith(CONSOLE_KEY) ? null : c.key,
      reason: c.reason,
      cancelledAt: c.at,
    })),
    approvedAt: p.approvedAt,
    ...(p.failure ? { failure: p.failure } : {}),
  };
}

function checkoutPage(q: URLSearchParams): string {
  const hidden = ['provider', 'paymentId', 'paymentRef', 'amount', 'redirectUrl']
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q.get(k) ?? '')}">`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pay with ${escapeHtml(q.get('provider') ?? 'card')} (simulator)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${escapeHtml(q.get('provider') ?? 'card')} payment (local simulator)</h1>
<p>Amount: <strong>${escapeHtml(q.get('amount') ?? '')} KRW</strong> — payment ${escapeHtml(q.get('paymentRef') ?? '')}</p>
<form method="post" action="/builtin/checkout">${hidden}
<button type="submit" name="outcome" value="approve">Approve</button>
<button type="submit" name="outcome" value="decline">Decline</button></form></main></body></html>`;
}
