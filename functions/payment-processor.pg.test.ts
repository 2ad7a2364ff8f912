import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as payments from '../db/payments';
import { LocalQueue } from '../local/queue';
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
    const show = await createShow(api.sql, { rows: 1, seatsPerRow: 2, price: 10 });
    const fan = await api.token('crash-fan');
    const order = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[0]] },
    });
    const payment = await api.request('POST', `/orders/${order.body.id}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    const base = success('p-crash');
    const event = { ...base, event: { ...base.event, paymentId: payment.body.id } };
    const spy = vi.spyOn(payments, 'setWebhookOutcome').mockRejectedValueOnce(new Error('container killed'));

    // a batch whose every record failed fails the invocation: SQS redelivers all of it
    await expect(invoke([record('m1', event)])).rejects.toThrow(/All records failed/);
    const [afterCrash] =
      await api.sql`select count(*)::int as n from webhook_events where event_id = 'p-crash'`;
    const [orderAfterCrash] = await api.sql`select status from orders where id = ${order.body.id}`;
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const redelivered = await invoke([record('m1', event)]);
    const again = await invoke([record('m2', event)]);

    expect(afterCrash!.n).toBe(0);
    expect(orderAfterCrash!.status).toBe('awaiting_payment');
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    const [events] =
      await api.sql`select count(*)::int as n, min(outcome) as outcome from webhook_events where event_id = 'p-crash'`;
    expect(events).toEqual({ n: 1, outcome: 'paid' });
    const [paidEvents] =
      await api.sql`select count(*)::int as n from outbox where detail_type = 'order.paid' and (detail->>'orderId')::bigint = ${order.body.id}`;
    expect(paidEvents!.n).toBe(1);
  });

  it('refuses a message that is not what the webhook receiver enqueues, instead of applying it', async () => {
    const show = await createShow(api.sql, { rows: 1, seatsPerRow: 2, price: 10 });
    const fan = await api.token('invalid-message-fan');
    const order = await api.request('POST', '/orders', {
      token: fan,
      body: { scheduleId: show.scheduleId, seatIds: [show.seatIds[0]] },
    });
    const payment = await api.request('POST', `/orders/${order.body.id}/payments`, {
      token: fan,
      body: { provider: 'card' },
    });
    const base = success('p-no-tid');
    // a success without the PG's transaction id: SQL would take it, and the ticket would have no PG reference
    const { pgTid: _, ...withoutTid } = { ...base.event, paymentId: payment.body.id };

    const result = await invoke([
      record('no-tid', { ...base, event: withoutTid }),
      { ...record('not-json', null), body: '{' },
      record('fine', success('p-fine-after-invalid')),
    ]);

    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: 'no-tid' }, { itemIdentifier: 'not-json' }],
    });
    const [row] = await api.sql`select status from orders where id = ${order.body.id}`;
    expect(row!.status).toBe('awaiting_payment');
    const [events] =
      await api.sql`select count(*)::int as n from webhook_events where event_id in ('p-no-tid', 'p-fine-after-invalid')`;
    expect(events!.n).toBe(1);
  });

  it('sends a poison message to the dead-letter queue after its receives, without losing it', async () => {
    const queue = new LocalQueue(handler as never, { visibilityTimeoutMs: 0, maxReceiveCount: 3 });
    const poison = { provider: 'paypal', event: { eventId: 'p-poison' }, receivedAt: 'yesterday' };
    await queue.send(poison as never);

    for (let i = 0; i < 4; i++) await queue.poll();

    expect(queue.depth).toBe(0);
    expect(queue.deadLetters.map((m) => JSON.parse(m.body))).toEqual([poison]);
    expect(queue.deadLetters[0]!.receiveCount).toBe(3);
  });
});
