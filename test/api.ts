import { setSql } from '../db/client';
import { forgetUsers } from '../db/users';
import { resetConfig } from '../domain/config';
import type { DomainEvent } from '../domain/ports';
import { sign } from '../functions/adapters/pg-webhooks';
import { useEventPublisher, usePaymentQueue } from '../functions/adapters/ports';
import { handler as processPayments } from '../functions/payment-processor';
import { dispatch, loadRoutes } from '../local/gateway';
import { initLocalIssuer, issueToken, type TokenRequest } from '../local/jwt';
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
export async function createTestApi(env: Record<string, string> = {}) {
  Object.assign(process.env, { PG_WEBHOOK_SECRET: 'test-secret', ...env });
  resetConfig();
  forgetUsers();
  const db: TestDatabase = await createTestDatabase({ max: 20 });
  setSql(db.sql);
  await initLocalIssuer(TEST_ISSUER);
  const routes = loadRoutes();
  const queue = new LocalQueue(processPayments as never, { visibilityTimeoutMs: 50 });
  usePaymentQueue(queue);
  const published: DomainEvent[] = [];
  useEventPublisher({
    publish: async (events) => {
      published.push(...events);
      return [];
    },
  });

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
    published,
    request,
    token: (sub: string, extra: Partial<TokenRequest> = {}) => issueToken({ sub, ...extra }),
    adminToken: () => issueToken({ sub: 'admin-1', admin: true }),
    /** Sends a correctly signed webhook for the built-in format. */
    webhook: (provider: string, event: Record<string, unknown>, secret = 'test-secret', t?: number) => {
      const raw = JSON.stringify(event);
      return request('POST', `/webhooks/pg/${provider}`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'pg-signature': sign(secret, raw, t) },
      });
    },
    async close() {
      await queue.stop();
      setSql(undefined);
      await db.drop();
    },
  };
}

export type TestApi = Awaited<ReturnType<typeof createTestApi>>;
