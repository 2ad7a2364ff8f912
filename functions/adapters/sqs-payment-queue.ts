import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { PaymentEventQueue, QueuedPaymentEvent } from '../../domain/ports';

/** The payment-event queue in AWS: one SQS message per verified webhook. */
export class SqsPaymentQueue implements PaymentEventQueue {
  constructor(
    private readonly queueUrl: string,
    private readonly client = new SQSClient({}),
  ) {}

  async send(message: QueuedPaymentEvent): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: message.provider },
          eventId: {
            DataType: 'String',
            StringValue: 'event' in message ? message.event.eventId : message.lookup.notificationId,
          },
        },
      }),
    );
  }
}
