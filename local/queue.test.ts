import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { QueuedPaymentEvent } from '../domain/ports';
import { LocalQueue } from './queue';

const message = (eventId: string): QueuedPaymentEvent => ({
  provider: 'card',
  event: {
    eventId,
    type: 'payment.succeeded',
    paymentId: 1,
    pgTid: 't',
    amount: '1.00',
    occurredAt: new Date().toISOString(),
  },
  receivedAt: new Date().toISOString(),
});
const idOf = (body: string) => (JSON.parse(body) as { event: { eventId: string } }).event.eventId;

describe('LocalQueue (SQS semantics)', () => {
  it('delivers in batches and deletes what the handler processed', async () => {
    const seen: string[][] = [];
    const queue = new LocalQueue(
      async (e: SQSEvent) => {
        seen.push(e.Records.map((r) => idOf(r.body)));
        return { batchItemFailures: [] };
      },
      { batchSize: 2 },
    );
    for (const id of ['a', 'b', 'c']) await queue.send(message(id));

    await queue.drain();

    expect(seen).toEqual([['a', 'b'], ['c']]);
    expect(queue.depth).toBe(0);
  });

  it('redelivers only the reported failures after the visibility timeout, then dead-letters them', async () => {
    const receives: Record<string, number> = {};
    const queue = new LocalQueue(
      async (e: SQSEvent) => ({
        batchItemFailures: e.Records.filter((r) => {
          const id = idOf(r.body);
          receives[id] = (receives[id] ?? 0) + 1;
          return id === 'poison' || (id === 'flaky' && receives[id] < 3);
        }).map((r) => ({ itemIdentifier: r.messageId })),
      }),
      { visibilityTimeoutMs: 5, maxReceiveCount: 4 },
    );
    await queue.send(message('ok'));
    await queue.send(message('flaky'));
    await queue.send(message('poison'));

    for (let i = 0; i < 20 && queue.depth > 0; i++) {
      await queue.poll();
      await new Promise((r) => setTimeout(r, 6));
    }

    expect(receives).toEqual({ ok: 1, flaky: 3, poison: 4 });
    expect(queue.deadLetters.map((m) => idOf(m.body))).toEqual(['poison']);
    expect(queue.depth).toBe(0);
  });

  it('redelivers a whole batch when the invocation throws', async () => {
    let calls = 0;
    const queue = new LocalQueue(
      async () => {
        calls++;
        if (calls === 1) throw new Error('crashed mid-batch');
        return { batchItemFailures: [] };
      },
      { visibilityTimeoutMs: 1 },
    );
    await queue.send(message('x'));
    await queue.send(message('y'));

    await queue.poll();
    await new Promise((r) => setTimeout(r, 3));
    await queue.poll();

    expect(calls).toBe(2);
    expect(queue.depth).toBe(0);
  });
});
