import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
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
 * Toss Payments API v1 as this service uses it, and the payment window standing in for Toss's:
 *
 *   POST /toss/v1/payments/confirm               capture an authorised payment
 *   GET  /toss/v1/payments/{paymentKey}          the Payment object
 *   GET  /toss/v1/payments/orders/{orderId}      the same, by our id
 *   POST /toss/v1/payments/{paymentKey}/cancel   full or partial cancel, honouring Idempotency-Key
 *   GET  /checkout/toss?clientKey&orderId&amount&orderName&customerKey&successUrl&failUrl
 *   POST /checkout/toss/approve | /checkout/toss/decline   (form or JSON; answers Toss's 303 redirect)
 *
 * Auth is Basic base64("<secret key>:"); errors are Toss's `{ code, message }` with its HTTP
 * statuses; after a confirm or a cancel, PAYMENT_STATUS_CHANGED goes to our /webhooks/pg/toss.
 */
registerSimHandler(async (req, res, ctx) => {
  const path = req.url.pathname;
  if (path.startsWith('/toss/')) {
    await api(req, res, ctx, path.slice('/toss'.length));
    return true;
  }
  if (path === '/checkout/toss' || path.startsWith('/checkout/toss/')) return checkout(req, res, ctx, path);
  return false;
});

interface Answer {
  status: number;
  body: unknown;
}

// a cancel in Toss's merchant console: the same cancel, under no key of ours, and its webhook
registerGatewaySideCancel('toss', (ctx, payment, amount) =>
  cancel(
    ctx,
    payment,
    { cancelReason: 'Cancelled in the merchant console', cancelAmount: amount },
    undefined,
  ),
);

const tossError = (status: number, code: string, message: string): Answer => ({
  status,
  body: { code, message },
});

const NOT_FOUND_PAYMENT = tossError(404, 'NOT_FOUND_PAYMENT', '존재하지 않는 결제 정보 입니다.');
const INTERNAL_ERROR = tossError(
  500,
  'FAILED_INTERNAL_SYSTEM_PROCESSING',
  '내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.',
);

// ---- the API ----------------------------------------------------------------------------------

async function api(req: SimRequest, res: ServerResponse, ctx: SimContext, path: string): Promise<void> {
  const route = routeOf(req.method, path);
  if (!route) return send(res, tossError(404, 'NOT_FOUND', `Toss has no ${req.method} /v1 route at ${path}`));
  ctx.state.count('toss', route.op);
  const refused = checkAuth(req, ctx);
  if (refused) return send(res, refused);

  if (route.op === 'fetch') {
    const payment = route.paymentKey ? byPaymentKey(ctx, route.paymentKey) : byOrderId(ctx, route.orderId!);
    if (!payment) return send(res, NOT_FOUND_PAYMENT);
    if (await failed(res, ctx, payment)) return;
    return send(res, { status: 200, body: view(payment) });
  }

  const body = readJson(req.body);
  if (route.op === 'confirm') {
    const input = confirmInput(body);
    if (!input)
      return send(res, tossError(400, 'INVALID_REQUEST', '잘못된 요청입니다. (paymentKey, orderId, amount)'));
    const payment = byOrderId(ctx, input.orderId);
    // Toss knows a paymentKey only once the buyer has authenticated in its window
    if (!payment || payment.pgTid !== input.paymentKey)
      return send(
        res,
        tossError(
          404,
          'NOT_FOUND_PAYMENT_SESSION',
          '결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.',
        ),
      );
    return idempotent(req, res, payment, path, async () => {
      if (await failed(res, ctx, payment)) return undefined;
      return confirm(ctx, payment, input.amount);
    });
  }

  const payment = byPaymentKey(ctx, route.paymentKey!);
  if (!payment) return send(res, NOT_FOUND_PAYMENT);
  const input = cancelInput(body);
  if (!input)
    return send(res, tossError(400, 'INVALID_REQUEST', '잘못된 요청입니다. (cancelReason, cancelAmount)'));
  const run = async () => {
    if (await failed(res, ctx, payment)) return undefined;
    if (ctx.state.takeFault(payment.paymentRef, 'refundFailsTwice')) {
      send(res, INTERNAL_ERROR);
      return undefined;
    }
    return cancel(ctx, payment, input, req.headers['idempotency-key']);
  };
  // refundLosesAnswer: the cancel is executed (and kept under its key), but its answer is lost
  return idempotent(req, res, payment, path, run, () =>
    ctx.state.takeFault(payment.paymentRef, 'refundLosesAnswer'),
  );
}

type Route =
  | { op: 'confirm' }
  | { op: 'fetch'; paymentKey?: string; orderId?: string }
  | { op: 'cancel'; paymentKey: string };

function routeOf(method: string, path: string): Route | undefined {
  if (method === 'POST' && path === '/v1/payments/confirm') return { op: 'confirm' };
  let m = /^\/v1\/payments\/orders\/([^/]+)$/.exec(path);
  if (method === 'GET' && m) return { op: 'fetch', orderId: decodeURIComponent(m[1]!) };
  m = /^\/v1\/payments\/([^/]+)\/cancel$/.exec(path);
  if (method === 'POST' && m) return { op: 'cancel', paymentKey: decodeURIComponent(m[1]!) };
  m = /^\/v1\/payments\/([^/]+)$/.exec(path);
  if (method === 'GET' && m) return { op: 'fetch', paymentKey: decodeURIComponent(m[1]!) };
  return undefined;
}

/** `Authorization: Basic base64("<secret key>:")` — the colon says there is no password. */
function checkAuth(req: SimRequest, ctx: SimContext): Answer | undefined {
  const unauthorized = tossError(
    401,
    'UNAUTHORIZED_KEY',
    '인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.',
  );
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return unauthorized;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    return tossError(403, 'INCORRECT_BASIC_AUTH_FORMAT', "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.");
  return decoded.slice(0, colon) === ctx.options.tossSecretKey ? undefined : unauthorized;
}

/** The payment's timeout and error500 faults: true when the call was answered with a 500. */
async function failed(res: ServerResponse, ctx: SimContext, payment: SimPayment): Promise<boolean> {
  // the call goes through, late: the client has given up by then and cannot know it did
  if (ctx.state.hasFault(payment.paymentRef, 'timeout')) await sleep(ctx.options.timeoutFaultMs);
  if (!ctx.state.hasFault(payment.paymentRef, 'error500')) return false;
  send(res, INTERNAL_ERROR);
  return true;
}

/**
 * Toss's idempotency: a POST with `Idempotency-Key` answers every repeat of the key (on the same
 * path) with the first answer, without executing again; a repeat while the first is still running
 * gets 409 IDEMPOTENT_REQUEST_PROCESSING. 5xx answers are not kept (nothing was done). `run`
 * returns the answer to keep and send, or undefined when it has answered itself (a fault);
 * `loseAnswer` replaces a kept success with a 500 (the refundLosesAnswer fault).
 */
async function idempotent(
  req: SimRequest,
  res: ServerResponse,
  payment: SimPayment,
  path: string,
  run: () => Promise<Answer | undefined>,
  loseAnswer: () => boolean = () => false,
): Promise<void> {
  const reply = (answer: Answer | undefined) => {
    if (!answer) return;
    send(res, answer.status === 200 && loseAnswer() ? INTERNAL_ERROR : answer);
  };
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string') return reply(await run());
  if (key.length > 300)
    return send(res, tossError(400, 'INVALID_IDEMPOTENCY_KEY', '멱등키는 300자 이하여야 합니다.'));
  const kept = idempotencyOf(payment);
  const slot = `POST ${path} ${key}`;
  const prior = kept[slot];
  if (prior === 'processing')
    return send(res, tossError(409, 'IDEMPOTENT_REQUEST_PROCESSING', '이전 멱등 요청이 처리중입니다.'));
  if (prior) return send(res, prior);
  kept[slot] = 'processing';
  let answer: Answer | undefined;
  try {
    answer = await run();
  } finally {
    if (answer && answer.status < 500) kept[slot] = answer;
    else delete kept[slot];
  }
  reply(answer);
}

function confirm(ctx: SimContext, payment: SimPayment, amount: number): Answer {
  if (payment.status !== 'authorized')
    return tossError(400, 'ALREADY_PROCESSED_PAYMENT', '이미 처리된 결제 입니다.');
  if (amount !== payment.amount) return tossError(400, 'INVALID_REQUEST', '결제 금액이 일치하지 않습니다.');
  if (ctx.state.hasFault(payment.paymentRef, 'decline')) {
    payment.status = 'failed';
    payment.failure = { code: 'REJECT_CARD_COMPANY', message: '결제 승인이 거절되었습니다.' };
    notify(ctx, payment);
    return tossError(403, payment.failure.code, payment.failure.message);
  }
  payment.status = 'paid';
  payment.approvedAt = kst();
  payment.extra.lastTransactionKey = transactionKey();
  notify(ctx, payment);
  return { status: 200, body: view(payment) };
}

function cancel(
  ctx: SimContext,
  payment: SimPayment,
  input: { cancelReason: string; cancelAmount?: number },
  idempotencyKey: string | string[] | undefined,
): Answer {
  if (payment.status === 'cancelled')
    return tossError(400, 'ALREADY_CANCELED_PAYMENT', '이미 취소된 결제 입니다.');
  if (payment.status !== 'paid' && payment.status !== 'partially_cancelled')
    return tossError(403, 'NOT_CANCELABLE_PAYMENT', '취소 할 수 없는 결제 입니다.');
  const balance = balanceOf(payment);
  const amount = input.cancelAmount ?? balance;
  if (amount > balance) return tossError(403, 'NOT_CANCELABLE_AMOUNT', '취소 할 수 없는 금액 입니다.');
  const at = kst();
  payment.cancels.push({
    key: typeof idempotencyKey === 'string' ? idempotencyKey : randomUUID(),
    amount,
    reason: input.cancelReason,
    at,
  });
  payment.status = amount === balance ? 'cancelled' : 'partially_cancelled';
  payment.extra.lastTransactionKey = transactionKey();
  ctx.state.recordRefund('toss');
  notify(ctx, payment);
  return { status: 200, body: view(payment) };
}

/** PAYMENT_STATUS_CHANGED, with Toss's createdAt (KST, microseconds, no zone) and the Payment as `data`. */
function notify(ctx: SimContext, payment: SimPayment): void {
  const createdAt = `${new Date(Date.now() + KST_MS).toISOString().slice(0, 23)}000`;
  const body = JSON.stringify({ eventType: 'PAYMENT_STATUS_CHANGED', createdAt, data: view(payment) });
  ctx.deliver('toss', payment.paymentRef, '/webhooks/pg/toss', {}, body);
}

// ---- Toss's Payment object ---------------------------------------------------------------------

const STATUS: Record<SimPayment['status'], string> = {
  ready: 'READY',
  authorized: 'IN_PROGRESS',
  paid: 'DONE',
  failed: 'ABORTED',
  cancelled: 'CANCELED',
  partially_cancelled: 'PARTIAL_CANCELED',
};

const cancelledOf = (p: SimPayment) => p.cancels.reduce((n, c) => n + c.amount, 0);
const balanceOf = (p: SimPayment) => p.amount - cancelledOf(p);

/** The Payment object (version 2022-11-16) with the fields a merchant server reads. */
function view(p: SimPayment) {
  const vat = Math.round(p.amount / 11);
  let balance = p.amount;
  return {
    mId: 'tsimulator',
    version: '2022-11-16',
    lastTransactionKey: p.extra.lastTransactionKey ?? null,
    paymentKey: p.pgTid,
    orderId: p.paymentRef,
    orderName: p.orderName,
    currency: 'KRW',
    method: '카드',
    status: STATUS[p.status],
    type: 'NORMAL',
    country: 'KR',
    requestedAt: p.extra.requestedAt,
    approvedAt: p.approvedAt,
    useEscrow: false,
    cultureExpense: false,
    isPartialCancelable: true,
    card:
      p.status === 'ready'
        ? null
        : {
            amount: p.amount,
            issuerCode: '4V',
            acquirerCode: '21',
            number: '43301234****123*',
            installmentPlanMonths: 0,
            approveNo: p.approvedAt ? '00000000' : null,
            cardType: '신용',
            ownerType: '개인',
            acquireStatus: p.approvedAt ? 'READY' : null,
          },
    cancels: p.cancels.length
      ? p.cancels.map((c, i) => {
          balance -= c.amount;
          return {
            transactionKey: `${p.pgTid}-cancel-${i + 1}`,
            cancelReason: c.reason,
            cancelAmount: c.amount,
            taxFreeAmount: 0,
            taxExemptionAmount: 0,
            refundableAmount: balance,
            easyPayDiscountAmount: 0,
            canceledAt: c.at,
            cancelStatus: 'DONE',
            cancelRequestId: null,
          };
        })
      : null,
    failure: p.failure ?? null,
    totalAmount: p.amount,
    balanceAmount: balanceOf(p),
    suppliedAmount: p.amount - vat,
    vat,
    taxFreeAmount: 0,
    taxExemptionAmount: 0,
    receipt: null,
    checkout: null,
    secret: null,
    easyPay: null,
    metadata: null,
  };
}

function byOrderId(ctx: SimContext, orderId: string): SimPayment | undefined {
  const payment = ctx.state.payments.get(orderId);
  return payment?.provider === 'toss' ? payment : undefined;
}

function byPaymentKey(ctx: SimContext, paymentKey: string): SimPayment | undefined {
  for (const payment of ctx.state.payments.values())
    if (payment.provider === 'toss' && payment.pgTid === paymentKey) return payment;
  return undefined;
}

function idempotencyOf(payment: SimPayment): Record<string, Answer | 'processing'> {
  payment.extra.idempotency ??= {};
  return payment.extra.idempotency as Record<string, Answer | 'processing'>;
}

// ---- the payment window ------------------------------------------------------------------------

async function checkout(
  req: SimRequest,
  res: ServerResponse,
  ctx: SimContext,
  path: string,
): Promise<boolean> {
  if (req.method === 'GET' && path === '/checkout/toss') {
    const fields = Object.fromEntries(req.url.searchParams);
    const window = windowInput(fields);
    if ('error' in window)
      sendHtml(res, 400, page('Cannot open the payment window', `<p>${esc(window.error)}</p>`));
    else sendHtml(res, 200, windowPage(window));
    return true;
  }
  if (req.method !== 'POST' || (path !== '/checkout/toss/approve' && path !== '/checkout/toss/decline'))
    return false;
  const fields = formOrJson(req);
  const window = windowInput(fields);
  if ('error' in window) {
    sendHtml(res, 400, page('Cannot complete the payment', `<p>${esc(window.error)}</p>`));
    return true;
  }
  if (path === '/checkout/toss/decline') {
    // the buyer closed the window: Toss has no payment (no paymentKey) and says so only to failUrl
    redirect(
      res,
      withParams(window.failUrl, {
        code: 'PAY_PROCESS_CANCELED',
        message: '사용자에 의해 결제가 취소되었습니다.',
        orderId: window.orderId,
      }),
    );
    return true;
  }
  const existing = ctx.state.payments.get(window.orderId);
  if (
    existing &&
    (existing.provider !== 'toss' || !['ready', 'authorized', 'failed'].includes(existing.status))
  ) {
    redirect(
      res,
      withParams(window.failUrl, {
        code: 'ALREADY_PROCESSED_PAYMENT',
        message: '이미 처리된 결제 입니다.',
        orderId: window.orderId,
      }),
    );
    return true;
  }
  // authenticated: a new paymentKey, IN_PROGRESS until our server confirms it (Toss allows 10 minutes)
  const payment: SimPayment = {
    provider: 'toss',
    paymentRef: window.orderId,
    pgTid: paymentKey(),
    amount: window.amount,
    orderName: window.orderName,
    status: 'authorized',
    approvedAt: null,
    cancels: [],
    extra: { requestedAt: kst(), customerKey: window.customerKey },
  };
  ctx.state.payments.set(payment.paymentRef, payment);
  redirect(
    res,
    withParams(window.successUrl, {
      paymentKey: payment.pgTid,
      orderId: payment.paymentRef,
      amount: String(payment.amount),
    }),
  );
  return true;
}

interface WindowInput {
  clientKey: string;
  orderId: string;
  amount: number;
  orderName: string;
  customerKey: string;
  successUrl: string;
  failUrl: string;
}

/** What requestPayment() takes, checked as Toss's SDK checks it. */
function windowInput(f: Record<string, string>): WindowInput | { error: string } {
  const errors: string[] = [];
  if (!f.clientKey) errors.push('clientKey is required');
  if (!/^[A-Za-z0-9_-]{6,64}$/.test(f.orderId ?? '')) errors.push('orderId must be 6–64 of [A-Za-z0-9_-]');
  if (!/^[1-9]\d{0,11}$/.test(f.amount ?? '')) errors.push('amount must be a positive whole number of won');
  if (!f.orderName || f.orderName.length > 100) errors.push('orderName must be 1–100 characters');
  if (f.customerKey && !/^[A-Za-z0-9\-_=.@]{2,300}$/.test(f.customerKey))
    errors.push('customerKey must be 2–300 of [A-Za-z0-9-_=.@]');
  for (const name of ['successUrl', 'failUrl'] as const)
    if (!isHttpUrl(f[name])) errors.push(`${name} must be an http(s) URL`);
  if (errors.length) return { error: errors.join('; ') };
  return {
    clientKey: f.clientKey!,
    orderId: f.orderId!,
    amount: Number(f.amount),
    orderName: f.orderName!,
    customerKey: f.customerKey ?? '',
    successUrl: f.successUrl!,
    failUrl: f.failUrl!,
  };
}

function windowPage(w: WindowInput): string {
  const hidden = Object.entries(w)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${esc(String(value))}">`)
    .join('');
  return page(
    'Toss Payments (simulator)',
    `<p>This page stands in for Toss's payment window. No card is charged.</p>
<dl>
  <dt>Order</dt><dd>${esc(w.orderName)}</dd>
  <dt>Amount</dt><dd>${w.amount.toLocaleString('en-US')} KRW</dd>
  <dt>Order id</dt><dd><code>${esc(w.orderId)}</code></dd>
</dl>
<form method="post" action="/checkout/toss/approve">${hidden}<button type="submit">Approve payment</button></form>
<form method="post" action="/checkout/toss/decline">${hidden}<button type="submit">Decline (close the window)</button></form>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
dt{font-weight:600}dd{margin:0 0 .5rem}form{display:inline-block;margin:1rem 1rem 0 0}
button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}button:focus-visible{outline:3px solid #3182f6;outline-offset:2px}</style>
</head>
<body><main><h1>${esc(title)}</h1>
${body}
</main></body>
</html>`;
}

// ---- small helpers -----------------------------------------------------------------------------

const KST_MS = 9 * 60 * 60 * 1000;

/** Toss's timestamps: ISO 8601 in Korea's time with its offset, e.g. 2024-02-13T12:18:14+09:00. */
const kst = (at = Date.now()) => `${new Date(at + KST_MS).toISOString().slice(0, 19)}+09:00`;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (length: number) =>
  Array.from(randomBytes(length), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');

/** Shaped like Toss's: a merchant prefix, the time, a random tail. */
const paymentKey = () => `tsimu${kst().slice(0, 19).replace(/\D/g, '')}${randomText(5)}`;
const transactionKey = () => randomBytes(16).toString('hex').toUpperCase();

function send(res: ServerResponse, answer: Answer): void {
  sendJson(res, answer.status, answer.body);
}

function readJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Toss takes the amount as a number (a numeric string is accepted too). */
const wholeWon = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

function confirmInput(body: unknown): { paymentKey: string; orderId: string; amount: number } | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  const amount = wholeWon(b.amount);
  if (typeof b.paymentKey !== 'string' || !b.paymentKey || typeof b.orderId !== 'string' || !amount)
    return undefined;
  return { paymentKey: b.paymentKey, orderId: b.orderId, amount };
}

function cancelInput(body: unknown): { cancelReason: string; cancelAmount?: number } | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.cancelReason !== 'string' || !b.cancelReason || b.cancelReason.length > 200) return undefined;
  if (b.cancelAmount === undefined || b.cancelAmount === null) return { cancelReason: b.cancelReason };
  const cancelAmount = wholeWon(b.cancelAmount);
  return cancelAmount ? { cancelReason: b.cancelReason, cancelAmount } : undefined;
}

function formOrJson(req: SimRequest): Record<string, string> {
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    const body = readJson(req.body);
    if (!body || typeof body !== 'object') return {};
    return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(req.body));
}

function isHttpUrl(value: string | undefined): value is string {
  try {
    return ['http:', 'https:'].includes(new URL(value ?? '').protocol);
  } catch {
    return false;
  }
}

function withParams(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
