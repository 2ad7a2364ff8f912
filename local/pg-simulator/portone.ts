import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
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
 * PortOne V2 as @portone/server-sdk calls it, at the paths of https://api.portone.io (the SDK
 * resolves "/payments/…" against the origin it is given, so these live at the simulator's root):
 *
 *   GET  /payments/{paymentId}?storeId=…      the Payment union (READY, PAID, FAILED, CANCELLED, PARTIAL_CANCELLED)
 *   POST /payments/{paymentId}/cancel         { amount?, reason, currentCancellableAmount?, storeId?, skipWebhook? }
 *   GET  /checkout/portone?storeId&channelKey&paymentId&orderName&totalAmount&currency&redirectUrl
 *                                             the payment window (what PortOne.requestPayment opens)
 *   POST /checkout/portone                    the window's form: paymentId, decision=approve|decline
 *
 * Auth is `Authorization: PortOne <API secret>`; errors are PortOne's `{ type, message }` with the
 * statuses of its OpenAPI document. Webhooks are Standard Webhooks signed with the webhook secret,
 * in PortOne's 2024-04-25 format ({ type: "Transaction.Paid", timestamp, data: { paymentId, … } }).
 */
registerSimHandler(async (req, res, ctx) => {
  const path = req.url.pathname;
  if (path === '/checkout/portone') {
    if (req.method === 'GET') openWindow(req, res, ctx);
    else if (req.method === 'POST') decide(req, res, ctx);
    else return false;
    return true;
  }
  const match = /^\/payments\/([^/]+)(\/cancel)?$/.exec(path);
  if (!match) return false;
  const paymentId = decodeURIComponent(match[1]!);
  if (req.method === 'GET' && !match[2]) await getPayment(paymentId, req, res, ctx);
  else if (req.method === 'POST' && match[2]) await cancelPayment(paymentId, req, res, ctx);
  else return false;
  return true;
});

/** PortOne's error body. */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type, message });
}

/** Checks the secret and the payment's faults; false when the call has been answered already. */
async function admit(
  operation: 'fetch' | 'cancel',
  paymentId: string,
  req: SimRequest,
  res: ServerResponse,
  ctx: SimContext,
): Promise<boolean> {
  ctx.state.count('portone', operation);
  if (req.headers.authorization !== `PortOne ${ctx.options.portoneApiSecret}`) {
    sendError(res, 401, 'UNAUTHORIZED', 'The API secret is not valid');
    return false;
  }
  if (ctx.state.hasFault(paymentId, 'timeout')) await sleep(ctx.options.timeoutFaultMs);
  if (ctx.state.hasFault(paymentId, 'error500')) {
    sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'The simulator fails this payment (fault error500)');
    return false;
  }
  return true;
}

/** The payment of this store, or an answer saying why not. */
function find(
  paymentId: string,
  storeId: unknown,
  res: ServerResponse,
  ctx: SimContext,
): SimPayment | undefined {
  const payment = ctx.state.payments.get(paymentId);
  if (payment?.provider !== 'portone') {
    sendError(res, 404, 'PAYMENT_NOT_FOUND', `Payment ${paymentId} was not found`);
    return undefined;
  }
  if (storeId !== undefined && storeId !== payment.extra.storeId) {
    sendError(res, 403, 'FORBIDDEN', `Store ${String(storeId)} may not read payment ${paymentId}`);
    return undefined;
  }
  return payment;
}

async function getPayment(paymentId: string, req: SimRequest, res: ServerResponse, ctx: SimContext) {
  if (!(await admit('fetch', paymentId, req, res, ctx))) return;
  const payment = find(paymentId, req.url.searchParams.get('storeId') ?? undefined, res, ctx);
  if (payment) sendJson(res, 200, portonePayment(payment));
}

async function cancelPayment(paymentId: string, req: SimRequest, res: ServerResponse, ctx: SimContext) {
  if (!(await admit('cancel', paymentId, req, res, ctx))) return;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(req.body || '{}');
  } catch {
    return sendError(res, 400, 'INVALID_REQUEST', 'The body is not JSON');
  }
  const payment = find(paymentId, body.storeId, res, ctx);
  if (!payment) return;
  if (ctx.state.takeFault(paymentId, 'refundFailsTwice'))
    return sendError(
      res,
      500,
      'INTERNAL_SERVER_ERROR',
      'The simulator fails this cancel (fault refundFailsTwice)',
    );

  const isAmount = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0);
  if (typeof body.reason !== 'string' || !isAmount(body.amount) || !isAmount(body.currentCancellableAmount))
    return sendError(res, 400, 'INVALID_REQUEST', 'reason is required; amounts are whole won');
  if (payment.status === 'cancelled')
    return sendError(res, 409, 'PAYMENT_ALREADY_CANCELLED', `Payment ${paymentId} is already cancelled`);
  if (payment.status !== 'paid' && payment.status !== 'partially_cancelled')
    return sendError(res, 409, 'PAYMENT_NOT_PAID', `Payment ${paymentId} is not paid`);
  const cancellable = payment.amount - cancelledTotal(payment);
  if (body.currentCancellableAmount !== undefined && body.currentCancellableAmount !== cancellable)
    return sendError(
      res,
      409,
      'CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN',
      `The cancellable amount is ${cancellable}, not ${String(body.currentCancellableAmount)}`,
    );
  const amount = (body.amount as number | undefined) ?? cancellable;
  if (amount === 0 || amount > cancellable)
    return sendError(
      res,
      409,
      'CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT',
      `Cannot cancel ${amount} of a cancellable ${cancellable}`,
    );

  executeCancel(ctx, payment, amount, body.reason, body.skipWebhook !== true);
  if (ctx.state.takeFault(paymentId, 'refundLosesAnswer'))
    return sendError(
      res,
      500,
      'INTERNAL_SERVER_ERROR',
      'The simulator lost this answer (fault refundLosesAnswer)',
    );
  sendJson(res, 200, { cancellation: portoneCancellation(payment.cancels.at(-1)!) });
}

/** The money goes back: the cancellation is kept on the payment and (unless skipped) announced. */
function executeCancel(
  ctx: SimContext,
  payment: SimPayment,
  amount: number,
  reason: string,
  notify: boolean,
) {
  const cancellable = payment.amount - cancelledTotal(payment);
  const at = new Date().toISOString();
  const id = `cancel_${randomUUID()}`;
  payment.cancels.push({ key: id, amount, reason, at });
  payment.status = amount === cancellable ? 'cancelled' : 'partially_cancelled';
  payment.extra.statusChangedAt = at;
  ctx.state.recordRefund('portone');
  if (notify) {
    const type = payment.status === 'cancelled' ? 'Transaction.Cancelled' : 'Transaction.PartialCancelled';
    sendWebhook(ctx, payment, type, { cancellationId: id });
  }
}

// a cancel in PortOne's console: money back and its webhook, as for a cancel through the API
registerGatewaySideCancel('portone', (ctx, payment, amount) => {
  if (payment.status !== 'paid' && payment.status !== 'partially_cancelled')
    return { status: 409, body: { type: 'PAYMENT_NOT_PAID', message: `Payment is ${payment.status}` } };
  const cancellable = payment.amount - cancelledTotal(payment);
  const won = amount ?? cancellable;
  if (!Number.isInteger(won) || won > cancellable)
    return {
      status: 409,
      body: { type: 'CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT', message: `${cancellable} is cancellable` },
    };
  executeCancel(ctx, payment, won, 'Cancelled in the PortOne console', true);
  return { status: 200, body: { cancellation: portoneCancellation(payment.cancels.at(-1)!) } };
});

const cancelledTotal = (payment: SimPayment) => payment.cancels.reduce((sum, c) => sum + c.amount, 0);

/** VAT included in a KRW amount (10%, so 1/11 of it). */
const vatOf = (amount: number) => Math.round(amount / 11);

function portoneCancellation(cancel: SimPayment['cancels'][number]) {
  return {
    status: 'SUCCEEDED',
    id: cancel.key,
    pgCancellationId: `pgc_${cancel.key.slice(-12)}`,
    totalAmount: cancel.amount,
    taxFreeAmount: 0,
    vatAmount: vatOf(cancel.amount),
    reason: cancel.reason,
    cancelledAt: cancel.at,
    requestedAt: cancel.at,
    trigger: 'API',
  };
}

/** The payment in PortOne's shape (the fields of its Payment union the SDK types declare). */
function portonePayment(payment: SimPayment) {
  const x = extraOf(payment);
  const cancelled = cancelledTotal(payment);
  const charged = payment.status === 'ready' || payment.status === 'failed' ? 0 : payment.amount;
  const common = {
    id: payment.paymentRef,
    transactionId: payment.pgTid,
    merchantId: 'merchant-local-simulator',
    storeId: x.storeId,
    channel: {
      type: 'TEST',
      id: 'channel-id-local-simulator',
      key: x.channelKey,
      name: 'Local simulator',
      pgProvider: 'TOSSPAYMENTS',
      pgMerchantId: 'tosspayments-local',
    },
    version: 'V2',
    requestedAt: x.requestedAt,
    updatedAt: x.statusChangedAt,
    statusChangedAt: x.statusChangedAt,
    orderName: payment.orderName,
    amount: {
      total: payment.amount,
      taxFree: 0,
      vat: vatOf(payment.amount),
      supply: payment.amount - vatOf(payment.amount),
      discount: 0,
      paid: charged,
      cancelled,
      cancelledTaxFree: 0,
    },
    currency: x.currency,
    customer: {},
  };
  const paid = {
    paidAt: payment.approvedAt,
    pgTxId: x.pgTxId,
    receiptUrl: `https://receipt.invalid/${x.pgTxId}`,
  };
  switch (payment.status) {
    case 'paid':
      return { status: 'PAID', ...common, ...paid, disputes: [], cancellations: [] };
    case 'cancelled':
    case 'partially_cancelled':
      return {
        status: payment.status === 'cancelled' ? 'CANCELLED' : 'PARTIAL_CANCELLED',
        ...common,
        ...paid,
        cancellations: payment.cancels.map(portoneCancellation),
        cancelledAt: payment.cancels.at(-1)?.at,
      };
    case 'failed':
      return {
        status: 'FAILED',
        ...common,
        failedAt: x.statusChangedAt,
        failure: {
          reason: payment.failure?.message,
          pgCode: payment.failure?.code,
          pgMessage: payment.failure?.message,
        },
      };
    default:
      return { status: 'READY', ...common };
  }
}

/** What this module keeps in a payment's `extra`. */
const extraOf = (payment: SimPayment) => payment.extra as unknown as PortOneExtra;

interface PortOneExtra {
  storeId: string;
  channelKey: string;
  currency: string;
  redirectUrl: string;
  pgTxId: string;
  requestedAt: string;
  statusChangedAt: string;
}

/**
 * Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`,
 * the secret being the base64 after `whsec_`.
 */
function sendWebhook(ctx: SimContext, payment: SimPayment, type: string, data: Record<string, string> = {}) {
  const body = JSON.stringify({
    type,
    timestamp: new Date().toISOString(),
    data: {
      paymentId: payment.paymentRef,
      storeId: extraOf(payment).storeId,
      transactionId: payment.pgTid,
      ...data,
    },
  });
  const id = `msg_${randomBytes(12).toString('hex')}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(ctx.options.portoneWebhookSecret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  ctx.deliver(
    'portone',
    payment.paymentRef,
    '/webhooks/pg/portone',
    { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` },
    body,
  );
}

/** The payment window: opening it is PortOne.requestPayment; each opening is a new transaction. */
function openWindow(req: SimRequest, res: ServerResponse, ctx: SimContext) {
  const q = req.url.searchParams;
  const field = (name: string) => q.get(name)?.trim() ?? '';
  const totalAmount = Number(field('totalAmount'));
  const redirectUrl = field('redirectUrl');
  const problems = [
    ...['storeId', 'channelKey', 'paymentId', 'orderName']
      .filter((n) => !field(n))
      .map((n) => `${n} is required`),
    ...(Number.isInteger(totalAmount) && totalAmount > 0
      ? []
      : ['totalAmount must be a positive whole number']),
    ...(field('currency') === 'KRW' ? [] : ['currency must be KRW']),
    ...(/^https?:\/\//.test(redirectUrl) ? [] : ['redirectUrl must be an http(s) URL']),
  ];
  if (problems.length) return sendHtml(res, 400, page('Payment request refused', list(problems)));

  const paymentId = field('paymentId');
  const existing = ctx.state.payments.get(paymentId);
  if (existing && existing.status !== 'ready' && existing.status !== 'failed')
    return sendHtml(
      res,
      409,
      page('Already paid', `<p>Payment <code>${escapeHtml(paymentId)}</code> has been paid already.</p>`),
    );
  const now = new Date().toISOString();
  const extra: PortOneExtra = {
    storeId: field('storeId'),
    channelKey: field('channelKey'),
    currency: 'KRW',
    redirectUrl,
    pgTxId: `sim_pg_${randomBytes(8).toString('hex')}`,
    requestedAt: now,
    statusChangedAt: now,
  };
  const payment: SimPayment = {
    provider: 'portone',
    paymentRef: paymentId,
    pgTid: randomUUID(),
    amount: totalAmount,
    orderName: field('orderName'),
    status: 'ready',
    approvedAt: null,
    cancels: [],
    extra: { ...extra },
  };
  ctx.state.payments.set(paymentId, payment);

  const won = new Intl.NumberFormat('ko-KR').format(totalAmount);
  sendHtml(
    res,
    200,
    page(
      'PortOne payment (simulator)',
      `<p>This page stands in for PortOne's payment window. No money moves.</p>
<dl>
  <dt>Order</dt><dd>${escapeHtml(payment.orderName)}</dd>
  <dt>Amount</dt><dd>${escapeHtml(won)} 원 (KRW)</dd>
  <dt>Payment id</dt><dd><code>${escapeHtml(paymentId)}</code></dd>
</dl>
<form method="post" action="/checkout/portone">
  <input type="hidden" name="paymentId" value="${escapeHtml(paymentId)}">
  <button type="submit" name="decision" value="approve">Pay ${escapeHtml(won)} 원</button>
  <button type="submit" name="decision" value="decline">Decline the card</button>
</form>`,
    ),
  );
}

/** The buyer's choice: the payment is settled, PortOne's webhook goes out, the window redirects. */
function decide(req: SimRequest, res: ServerResponse, ctx: SimContext) {
  const form = new URLSearchParams(req.body);
  const paymentId = form.get('paymentId') ?? '';
  const decision = form.get('decision');
  const payment = ctx.state.payments.get(paymentId);
  if (payment?.provider !== 'portone')
    return sendHtml(res, 404, page('Unknown payment', `<p>No payment window is open for this payment.</p>`));
  if (decision !== 'approve' && decision !== 'decline')
    return sendHtml(res, 400, page('Payment request refused', list(['decision must be approve or decline'])));

  // a second submit (double click, back button) changes nothing and lands where the first did
  if (payment.status === 'ready') {
    const now = new Date().toISOString();
    payment.extra.statusChangedAt = now;
    if (decision === 'approve' && !ctx.state.hasFault(paymentId, 'decline')) {
      payment.status = 'paid';
      payment.approvedAt = now;
      sendWebhook(ctx, payment, 'Transaction.Paid');
    } else {
      payment.status = 'failed';
      payment.failure = { code: 'REJECT_CARD_COMPANY', message: 'The card company declined the payment' };
      sendWebhook(ctx, payment, 'Transaction.Failed');
    }
  }
  const target = new URL(extraOf(payment).redirectUrl);
  target.searchParams.set('paymentId', payment.paymentRef);
  target.searchParams.set('txId', payment.pgTid);
  if (payment.status === 'failed' && payment.failure) {
    target.searchParams.set('code', 'FAILURE_TYPE_PG');
    target.searchParams.set('message', `[${payment.failure.code}] ${payment.failure.message}`);
    target.searchParams.set('pgCode', payment.failure.code);
    target.searchParams.set('pgMessage', payment.failure.message);
  }
  redirect(res, target.toString());
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
dt{font-weight:600}button{font-size:1rem;padding:.6rem 1rem;margin:.5rem .5rem 0 0}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

const list = (items: string[]) => `<ul>${items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
