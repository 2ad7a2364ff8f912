import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../domain/ports';
import { EventBridgePublisher } from './eventbridge-publisher';
import { SqsPaymentQueue } from './sqs-payment-queue';

const sqs = mockClient(SQSClient);
const eventBridge = mockClient(EventBridgeClient);

beforeEach(() => {
  sqs.reset();
  eventBridge.reset();
});

describe('SqsPaymentQueue', () => {
  it('sends one message per verified event, with provider and event id as attributes', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const queue = new SqsPaymentQueue('https://sqs.local/queue', new SQSClient({ region: 'ap-northeast-2' }));
    const message = {
      provider: 'kakao' as const,
      event: {
        eventId: 'e-1',
        type: 'payment.succeeded' as const,
        paymentId: 3,
        pgTid: 't',
        amount: '1.00',
        occurredAt: '2026-11-25T00:00:00Z',
      },
      receivedAt: '2026-11-25T00:00:01Z',
    };

    await queue.send(message);

    const calls = sqs.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      QueueUrl: 'https://sqs.local/queue',
      MessageBody: JSON.stringify(message),
      MessageAttributes: {
        provider: { DataType: 'String', StringValue: 'kakao' },
        eventId: { DataType: 'String', StringValue: 'e-1' },
      },
    });
  });
});

const events = (n: number): DomainEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    detailType: 'order.paid',
    detail: { orderId: 100 + i },
    createdAt: new Date('2026-11-25T00:00:00Z'),
  }));

describe('EventBridgePublisher', () => {
  it('sends entries in batches of at most 10 with Source, DetailType and Detail', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `e${i}` })),
    }));
    const publisher = new EventBridgePublisher(
      'ticketing-bus',
      new EventBridgeClient({ region: 'ap-northeast-2' }),
    );

    const failed = await publisher.publish(events(23));

    expect(failed).toEqual([]);
    const sizes = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length);
    expect(sizes).toEqual([10, 10, 3]);
    expect(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]).toEqual({
      EventBusName: 'ticketing-bus',
      Source: 'ticketing',
      DetailType: 'order.paid',
      Time: new Date('2026-11-25T00:00:00Z'),
      Detail: JSON.stringify({ orderId: 100, outboxId: 1 }),
    });
  });

  it('retries only the entries EventBridge refused, and reports those still failing', async () => {
    let call = 0;
    eventBridge.on(PutEventsCommand).callsFake((input) => {
      call++;
      return {
        FailedEntryCount: 1,
        Entries: input.Entries.map((e: { Detail: string }) =>
          JSON.parse(e.Detail).outboxId === 2 || (call === 1 && JSON.parse(e.Detail).outboxId === 3)
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }
            : { EventId: 'ok' },
        ),
      };
    });
    const publisher = new EventBridgePublisher('bus', new EventBridgeClient({ region: 'ap-northeast-2' }));

    const failed = await publisher.publish(events(4));

    const sent = eventBridge
      .commandCalls(PutEventsCommand)
      .map((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).outboxId));
    expect(sent).toEqual([[1, 2, 3, 4], [2, 3], [2]]);
    expect(failed).toEqual([2]);
  });

  it('treats a failed call as every entry failed', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('throttled'));
    const publisher = new EventBridgePublisher('bus', new EventBridgeClient({ region: 'ap-northeast-2' }));
    expect(await publisher.publish(events(2))).toEqual([1, 2]);
  });
});
