import type { AddressInfo } from 'node:net';
import { setSql } from '../db/client';
import { forgetUsers } from '../db/users';
import { resetConfig } from '../domain/config';
import { relayOutbox } from '../domain/outbox-relay';
import type { DomainEvent, QueuedPaymentEvent } from '../domain/ports';
import { sign } from '../functions/adapters/pg-webhooks';
import { useEventPublisher, usePaymentQueue } from '../functions/adapters/ports';
import { handler as processPayments } from '../functions/payment-processor';
import { handler as sendRefunds } from '../functions/refund-worker';
import { LocalEventBus } from '../local/event-bus';
import { createGateway, dispatch, type ExtraHandler, loadRoutes } from '../local/gateway';
import { initLocalIssuer, issueToken, type TokenRequest } from '../local/jwt';
import { startPgSimulator } from '../local/pg-simulator';
import { recordCharge } from '../local/pg-simulator/builtin';
import { LocalQueue } from '../local/queue';
import { createTestDatabase, type TestDatabase } from './db';

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (not JSON-encoded). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export const TEST_ISSUER = 'http://localhost:3000';

/**
 * The API as a client sees it, without a socket: requests go through the local gateway (route
 * match, JWT check, API Gateway v2 event) into the real handlers, on a database of this test file.
 */
export async function createTestApi(
  env: Record<string, string> = {},
  /**
   * connections: the pool of the file's database (the race suite drives 100 at once); serve: what
   * the server answers besides the API (the web app, for the browser tests).
   */
  options: { connections?: number; serve?: ExtraHandler } = {},
) {
  const routes = loadRoutes();
  // The gateways' webhooks reach the API over HTTP, as they would in AWS.
  const server = createGateway(routes, options.serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const secrets = {
    tossSecretKey: 'test_sk_simulator',
    portoneApiSecret: 'test-portone-api-secret',
    portoneWebhookSecret: 'whsec_dGVzdC1wb3J0b25lLXdlYmhvb2stc2VjcmV0',
    builtinWebhookSecret: env.PG_WEBHOOK_SECRET ?? 'test-secret',
  };
  const simulator = await startPgSimulator({
    apiBase,
    ...secrets,
    webhookRetryDelaysMs: [50, 200],
    timeoutFaultMs: 1500,
  });
  Object.assign(process.env, {
    PG_WEBHOOK_SECRET: secrets.builtinWebhookSecret,
    TOSS_API_BASE: `${simulator.url}/toss`,
    TOSS_SECRET_KEY: secrets.tossSecretKey,
    // PortOne's SDK takes an origin: the simulator serves PortOne's paths at its root
    PORTONE_API_BASE: simulator.url,
    PORTONE_API_SECRET: secrets.portoneApiSecret,
    PORTONE_WEBHOOK_SECRET: secrets.portoneWebhookSecret,
    BUILTIN_PG_API_BASE: `${simulator.url}/builtin`,
    GATEWAY_TIMEOUT_MS: '500',
    ...env,
  });
  resetConfig();
  forgetUsers();
  const db: TestDatabase = await createTestDatabase({ max: options.connections ?? 20 });
  setSql(db.sql);
  await initLocalIssuer(TEST_ISSUER);
  const queue = new LocalQueue<QueuedPaymentEvent>(processPayments as never, { visibilityTimeoutMs: 50 });
  const refundQueue = new LocalQueue(sendRefunds as never, { visibilityTimeoutMs: 50 }, 'refund-requests');
  usePaymentQueue(queue);
  const published: DomainEvent[] = [];
  const bus = new LocalEventBus({ 'refund.requested': refundQueue }, (e) => published.push(e));
  useEventPublisher(bus);

  /**
   * One pass of what AWS runs on its own — the payment queue, the relay, the refund queue — without
   * waiting for webhooks on their way. Returns how many events the relay published.
   */
  async function pump(): Promise<number> {
    await queue.drain();
    const { published } = await relayOutbox(db.sql, bus);
    await refundQueue.drain();
    return published;
  }

  /** Runs what AWS would run on its own until nothing is left: webhooks, the relay, refunds. */
  async function settle(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      await simulator.settled();
      const relayed = await pump();
      if (relayed === 0 && queue.depth === 0 && refundQueue.depth === 0) return;
      // messages handed back (a gateway unavailable) wait out their visibility timeout
      await new Promise((r) => setTimeout(r, 60));
    }
  }

  async function request<T = any>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body = Buffer.alloc(0);
    if (options.rawBody !== undefined) body = Buffer.from(options.rawBody);
    else if (options.body !== undefined) {
      body = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    const result = await dispatch(routes, { method, url: path, headers, body });
    const text = result.body ?? '';
    const contentType = String(result.headers?.['content-type'] ?? '');
    return {
      status: result.statusCode ?? 200,
      headers: result.headers as Record<string, string>,
      body: (contentType.includes('json') && text ? JSON.parse(text) : text) as T,
    };
  }

  return {
    db,
    sql: db.sql,
    queue,
    refundQueue,
    simulator,
    apiBase,
    published,
    pump,
    settle,
    request,
    token: (sub: string, extra: Partial<TokenRequest> = {}) => issueToken({ sub, ...extra }),
    adminToken: () => issueToken({ sub: 'admin-1', admin: true }),
    /**
     * Sends a correctly signed webhook for the built-in format. A success also tells the simulated
     * gateway that it charged the money, as the real one would know, so a refund of it can be sent.
     */
    webhook: async (provider: string, event: Record<string, unknown>, secret = 'test-secret', t?: number) => {
      const raw = JSON.stringify(event);
      if (event.type === 'payment.succeeded' && typeof event.paymentId === 'number') {
        const [payment] = await db.sql<{ publicId: string }[]>`
          select public_id as "publicId" from payments where id = ${event.paymentId}`;
        if (payment && !simulator.state.payments.has(payment.publicId)) {
          recordCharge(
            simulator,
            {
              provider,
              paymentId: event.paymentId,
              paymentRef: payment.publicId,
              amount: String(event.amount),
              pgTid: String(event.pgTid),
            },
            true,
          );
        }
      }
      return request('POST', `/webhooks/pg/${provider}`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'pg-signature': sign(secret, raw, t) },
      });
    },
    async close() {
      await queue.stop();
      await refundQueue.stop();
      await simulator.close();
      server.closeAllConnections();
      server.close();
      setSql(undefined);
      await db.drop();
    },
  };
}

export type TestApi = Awaited<ReturnType<typeof createTestApi>>;
