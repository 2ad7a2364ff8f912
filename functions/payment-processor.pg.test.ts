import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as payments from '../db/payments';
import { createTestApi, type TestApi } from '../test/api';
import { createShow } from '../test/fixtures';
import { handler } from './payment-processor';

let api: TestApi;
let paymentId: number;
let orderId: number;

beforeAll(async () => {
  api = await createTestApi();
  const show = await createShow(api.sql, { rows: 1, seatsPerRow: 4, price: 10 });
  const fan = await api.token('processor-fan');
  const order = await api.request('POST', '/orders', {
    token: fan,
    body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[0]] },
  });
  orderId = order.body.id;
  paymentId = (
    await api.request('POST', `/orders/${orderId}/payments`, { token: fan, body: { provider: 'card' } })
  ).body.id;
});
afterAll(() => api.close());

const record = (messageId: string, body: unknown) => ({
  messageId,
  receiptHandle: messageId,
  body: JSON.stringify(body),
  attributes: {},
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn',
  awsRegion: 'x',
});
const success = (eventId: string) => ({
  provider: 'card',
  event: {
    eventId,
    type: 'payment.succeeded',
    paymentId,
    pgTid: 'tid',
    amount: '10.00',
    occurredAt: new Date().toISOString(),
  },
  receivedAt: new Date().toISOString(),
});
const invoke = (records: ReturnType<typeof record>[]) =>
  handler({ Records: records } as SQSEvent, { awsRequestId: 'r', functionName: 'processor' } as never);

describe('payment processor', () => {
  it('reports only the failed records of a batch', async () => {
    const result = await invoke([
      record('good', success('p-1')),
      record('bad', { nonsense: true }),
      record('dup', success('p-1')),
    ]);

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    const [row] = await api.sql`select status from orders where id = ${orderId}`;
    expect(row!.status).toBe('paid');
  });

  it('applies an event once when the processor dies before commit and SQS redelivers it', async () => {
    await api.sql`update orders set status = 'awaiting_payment', hold_expires_at = now() + interval '5 minutes' where id = ${orderId}`;
    const [second] =
      await api.sql`insert into payments (order_id, provider, amount, status) values (${orderId}, 'card', 10, 'fail') returning id`;
    const event = { ...success('p-crash'), event: { ...success('p-crash').event, paymentId: second!.id } };
    const spy = vi.spyOn(payments, 'setWebhookOutcome').mockRejectedValueOnce(new Error('container killed'));

    // a batch whose every record failed fails the invocation: SQS redelivers all of it
    await expect(invoke([record('m1', event)])).rejects.toThrow(/All records failed/);
    const [afterCrash] =
      await api.sql`select count(*)::int as n from webhook_events where event_id = 'p-crash'`;
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const redelivered = await invoke([record('m1', event)]);

    expect(afterCrash!.n).toBe(0);
    expect(redelivered).toEqual({ batchItemFailures: [] });
    const [events] = await api.sql`select count(*)::int as n from webhook_events where event_id = 'p-crash'`;
    expect(events!.n).toBe(1);
    const refunds = await api.sql`select count(*)::int as n from payments where refund_of = ${second!.id}`;
    expect(refunds[0]!.n).toBe(1);
  });
});
