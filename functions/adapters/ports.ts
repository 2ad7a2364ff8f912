import { getConfig } from '../../domain/config';
import type { EventPublisher, PaymentEventQueue } from '../../domain/ports';
import { EventBridgePublisher } from './eventbridge-publisher';
import { SqsPaymentQueue } from './sqs-payment-queue';

/**
 * Which implementation of each port this process uses: the AWS adapter when the stack configured
 * one, otherwise the local stand-in that `npm start` (or a test) registered.
 */
let queue: PaymentEventQueue | undefined;
let publisher: EventPublisher | undefined;

export function usePaymentQueue(q: PaymentEventQueue | undefined): void {
  queue = q;
}
export function useEventPublisher(p: EventPublisher | undefined): void {
  publisher = p;
}

export function paymentQueue(): PaymentEventQueue {
  if (!queue) {
    const url = getConfig().PAYMENT_QUEUE_URL;
    if (!url) throw new Error('No payment queue: set PAYMENT_QUEUE_URL or register a local queue');
    queue = new SqsPaymentQueue(url);
  }
  return queue;
}

export function eventPublisher(): EventPublisher {
  if (!publisher) {
    const bus = getConfig().EVENT_BUS_NAME;
    if (!bus) throw new Error('No event bus: set EVENT_BUS_NAME or register a local publisher');
    publisher = new EventBridgePublisher(bus);
  }
  return publisher;
}
