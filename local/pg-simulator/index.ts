import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAULT_MODES, type FaultMode, type SimPayment, type SimProvider, SimulatorState } from './state';

/**
 * The local payment gateway simulator: Toss Payments v1, PortOne V2 and the built-in signed
 * gateway, on their own port, speaking their published APIs (paths, auth, JSON, error bodies), with
 * a checkout page standing in for their payment windows and their webhooks sent back to our API.
 * `npm start` runs it and points TOSS_API_BASE / PORTONE_API_BASE / BUILTIN_PG_API_BASE at it;
 * tests start one per file. Faults are switched on per payment through `/_sim/faults`.
 *
 *   /toss/v1/…        Toss Payments API v1            (toss.ts)
 *   /payments/…       PortOne V2 REST API, at the root (portone.ts): its SDK resolves its paths
 *                     against an origin, so PORTONE_API_BASE is the simulator's origin
 *   /builtin/…        the built-in gateway's refunds  (builtin.ts)
 *   /checkout/…       the payment windows             (each module)
 *   /_sim/…           control: faults, counts, payments, reset, and a cancel made at the gateway
 */
export interface SimulatorOptions {
  /** 0: any free port. */
  port?: number;
  /** Where webhooks go: our API's base URL (e.g. http://localhost:3000). */
  apiBase: string;
  tossSecretKey: string;
  portoneApiSecret: string;
  portoneWebhookSecret: string;
  /** The built-in format's signing secret (PG_WEBHOOK_SECRET). */
  builtinWebhookSecret: string;
  /** Delays of webhook redeliveries after a failed delivery, ms (Toss and PortOne retry for hours). */
  webhookRetryDelaysMs?: number[];
  /** How long a `timeout` fault hangs before answering, ms (longer than the adapters' timeout). */
  timeoutFaultMs?: number;
}

export interface SimRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface SimContext {
  state: SimulatorState;
  options: Required<SimulatorOptions>;
  /** The simulator's own base URL. */
  baseUrl: string;
  /**
   * Sends a webhook to our API the way the gateway does: retried on failure with the retry delays,
   * sent twice, late or never when the payment's faults say so. Returns at once.
   */
  deliver(
    provider: SimProvider,
    paymentRef: string,
    path: string,
    headers: Record<string, string>,
    body: string,
  ): void;
}

export type SimHandler = (req: SimRequest, res: ServerResponse, ctx: SimContext) => Promise<boolean>;

/** Provider modules register their handlers here (each returns false for paths it does not serve). */
const handlers: SimHandler[] = [];
export function registerSimHandler(handler: SimHandler): void {
  handlers.push(handler);
}

/**
 * A cancel made at the gateway on its own, as its merchant console (or a card company) would: the
 * money goes back and the gateway sends its webhook. `amount` in won; undefined: all that is left.
 */
export type GatewaySideCancel = (
  ctx: SimContext,
  payment: SimPayment,
  amount: number | undefined,
) => { status: number; body: unknown };

const gatewaySideCancels = new Map<SimProvider, GatewaySideCancel>();
export function registerGatewaySideCancel(provider: SimProvider, cancel: GatewaySideCancel): void {
  gatewaySideCancels.set(provider, cancel);
}

export interface RunningSimulator {
  url: string;
  state: SimulatorState;
  /** Switches faults on for one payment (replacing any it had). */
  setFaults(paymentRef: string, modes: FaultMode[]): void;
  /** Resolves once no webhook is waiting to be sent. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startPgSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  // the provider modules register themselves on import
  await Promise.all([import('./toss'), import('./portone'), import('./builtin')]);
  const opts: Required<SimulatorOptions> = {
    port: 0,
    webhookRetryDelaysMs: [1000, 5000, 30_000],
    timeoutFaultMs: 15_000,
    ...options,
  };
  const state = new SimulatorState();
  const inFlight = new Set<Promise<void>>();
  let baseUrl = '';

  const ctx: SimContext = {
    state,
    options: opts,
    get baseUrl() {
      return baseUrl;
    },
    deliver(provider, paymentRef, path, headers, body) {
      if (state.hasFault(paymentRef, 'noWebhook')) return;
      const copies = state.hasFault(paymentRef, 'duplicateWebhook') ? 2 : 1;
      const delay = state.hasFault(paymentRef, 'lateWebhook') ? state.lateWebhookMs : 0;
      for (let i = 0; i < copies; i++) {
        const p = sendWithRetries(opts, state, provider, path, headers, body, delay).finally(() =>
          inFlight.delete(p),
        );
        inFlight.add(p);
      }
    },
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const request: SimRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://simulator'),
        headers: req.headers,
        body,
      };
      if (await control(request, res, ctx)) return;
      for (const handle of handlers) if (await handle(request, res, ctx)) return;
      sendJson(res, 404, {
        code: 'NOT_FOUND',
        message: `The simulator has no ${request.method} ${request.url.pathname}`,
      });
    } catch (error) {
      sendJson(res, 500, { code: 'SIMULATOR_ERROR', message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    state,
    setFaults: (ref, modes) => state.setFaults(ref, modes),
    async settled() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `/_sim/…`: what a test or a developer uses to steer the simulator and read what it saw. */
async function control(req: SimRequest, res: ServerResponse, ctx: SimContext): Promise<boolean> {
  const { state } = ctx;
  const path = req.url.pathname;
  if (!path.startsWith('/_sim/')) return false;
  const cancelled = /^\/_sim\/payments\/([^/]+)\/cancel$/.exec(path);
  if (req.method === 'POST' && path === '/_sim/faults') {
    const { paymentRef, modes } = JSON.parse(req.body || '{}') as { paymentRef?: string; modes?: string[] };
    const unknown = (modes ?? []).filter((m) => !(FAULT_MODES as readonly string[]).includes(m));
    if (!paymentRef || !Array.isArray(modes) || unknown.length) {
      sendJson(res, 400, {
        code: 'INVALID_REQUEST',
        message: `paymentRef and modes (of ${FAULT_MODES.join(', ')}) are required`,
      });
      return true;
    }
    state.setFaults(paymentRef, modes as FaultMode[]);
    sendJson(res, 200, { paymentRef, modes });
  } else if (req.method === 'GET' && path === '/_sim/counts') {
    sendJson(res, 200, state.counts);
  } else if (req.method === 'POST' && cancelled) {
    // `{ amount? }` in won: cancels at the gateway, not through our API (a merchant console)
    const payment = state.payments.get(decodeURIComponent(cancelled[1]!));
    const { amount } = JSON.parse(req.body || '{}') as { amount?: number | string };
    const won = amount === undefined ? undefined : Number(amount);
    if (!payment) sendJson(res, 404, { code: 'NOT_FOUND', message: 'no such payment' });
    else if (won !== undefined && !(won > 0))
      sendJson(res, 400, { code: 'INVALID_REQUEST', message: 'amount must be a positive number of won' });
    else {
      const answer = gatewaySideCancels.get(payment.provider)!(ctx, payment, won);
      sendJson(res, answer.status, answer.body);
    }
  } else if (req.method === 'GET' && path.startsWith('/_sim/payments/')) {
    const payment = state.payments.get(decodeURIComponent(path.slice('/_sim/payments/'.length)));
    if (payment) sendJson(res, 200, payment);
    else sendJson(res, 404, { code: 'NOT_FOUND', message: 'no such payment' });
  } else if (req.method === 'POST' && path === '/_sim/reset') {
    state.reset();
    sendJson(res, 200, { reset: true });
  } else {
    sendJson(res, 404, { code: 'NOT_FOUND', message: 'unknown control route' });
  }
  return true;
}

async function sendWithRetries(
  opts: Required<SimulatorOptions>,
  state: SimulatorState,
  provider: SimProvider,
  path: string,
  headers: Record<string, string>,
  body: string,
  delayMs: number,
): Promise<void> {
  if (delayMs) await sleep(delayMs);
  for (let attempt = 0; ; attempt++) {
    state.recordWebhook(provider);
    try {
      const response = await fetch(new URL(path, opts.apiBase), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      // 2xx ends it, as for the real gateways; anything else is retried
      if (response.ok) return;
    } catch {
      // our API is down or slow: retried like any failed delivery
    }
    const wait = opts.webhookRetryDelaysMs[attempt];
    if (wait === undefined) return;
    await sleep(wait);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location });
  res.end();
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
