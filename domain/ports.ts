import type { Provider } from '../db/vocabulary';
import type { PaymentEvent } from './payments';

/**
 * The two AWS services the domain talks to, as small ports. AWS adapters live in
 * functions/adapters/, local stand-ins in local/.
 */
export interface QueuedPaymentEvent {
  provider: Provider;
  event: PaymentEvent;
  receivedAt: string;
}

export interface PaymentEventQueue {
  send(message: QueuedPaymentEvent): Promise<void>;
}

export interface DomainEvent {
  id: number;
  detailType: string;
  detail: Record<string, unknown>;
  createdAt: Date;
}

export interface EventPublisher {
  /** Publishes events; returns the ids of those that failed (they stay in the outbox). */
  publish(events: DomainEvent[]): Promise<number[]>;
}
