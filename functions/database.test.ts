import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setSql } from '../db/client';
import { resetConfig } from '../domain/config';
import type { QueuedPaymentEvent } from '../domain/ports';
import { sign } from './adapters/pg-webhooks';
import { usePaymentQueue } from './adapters/ports';
import { databaseFor } from './database';
import { openapi } from './http/system';
import { receive } from './http/webhooks';

/** A process with only the settings AWS gives a function without the `database` need. */
const saved = { ...process.env };
beforeEach(() => {
  delete process.env.DATABASE_URL;
  delete process.env.DB_PROXY_HOST;
  process.env.PG_WEBHOOK_SECRET = 'hole-4-secret';
  resetConfig();
  setSql(undefined);
});
afterEach(() => {
  process.env = { ...saved };
  resetConfig();
  usePaymentQueue(undefined);
});

const context = { awsRequestId: 'r-1', functionName: 'test' } as never;
const event = (method: string, path: string, extra: object = {}) =>
  ({ rawPath: path, headers: {}, requestContext: { http: { method } }, ...extra }) as never;

describe('routes without the database need', () => {
  it('serve /openapi.json with no database settings at all', async () => {
    const response = await openapi(event('GET', '/openapi.json'), context);

    expect(response.statusCode).toBe(200);
  });

  it('accept and queue a signed webhook with no database settings at all', async () => {
    const sent: QueuedPaymentEvent[] = [];
    usePaymentQueue({ send: async (m) => void sent.push(m) });
    const body = JSON.stringify({
      eventId: 'evt-1',
      type: 'payment.succeeded',
      paymentId: 1,
      pgTid: 'tid-1',
      amount: '1000.00',
      occurredAt: new Date().toISOString(),
    });

    const response = await receive(
      event('POST', '/webhooks/pg/card', {
        body,
        pathParameters: { provider: 'card' },
        headers: { 'content-type': 'application/json', 'pg-signature': sign('hole-4-secret', body) },
      }),
      context,
    );

    expect([
      response.statusCode,
      sent.map((m) => ('event' in m ? m.event.eventId : m.lookup.notificationId)),
    ]).toEqual([202, ['evt-1']]);
  });

  it('get a stand-in that names the missing need when a handler uses it anyway', () => {
    const db = databaseFor({ needs: [] }, 'GET /x');

    expect(() => db`select 1`).toThrow("GET /x uses the database but does not declare the 'database' need");
  });
});
