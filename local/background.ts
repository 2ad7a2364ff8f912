import type { Sql } from '../db/client';
import type { Config } from '../domain/config';
import { relayOutbox } from '../domain/outbox-relay';
import type { DomainEvent, EventPublisher } from '../domain/ports';
import { sweep } from '../domain/sweeper';
import { useEventPublisher, usePaymentQueue } from '../functions/adapters/ports';
import { handler as processPayments } from '../functions/payment-processor';
import { handler as sendRefunds } from '../functions/refund-worker';
import { LocalEventBus } from './event-bus';
import { LocalQueue } from './queue';

/** The local event bus: logs each domain event the relay publishes. */
export class LoggingPublisher implements EventPublisher {
  async publish(events: DomainEvent[]): Promise<number[]> {
    for (const e of events) console.log(`[event] ${e.detailType} ${JSON.stringify(e.detail)}`);
    return [];
  }
}

/**
 * What AWS runs for us, locally: the sweeper schedule, the payment-event queue + processor, the
 * outbox relay onto a bus whose rule feeds the refund queue + worker.
 */
export function startBackgroundWork(sql: Sql, config: Config) {
  const queue = new LocalQueue(processPayments as never);
  const refundQueue = new LocalQueue(sendRefunds as never, {}, 'refund-requests');
  const logger = new LoggingPublisher();
  const bus = new LocalEventBus({ 'refund.requested': refundQueue }, (e) => void logger.publish([e]));
  usePaymentQueue(queue);
  useEventPublisher(bus);
  queue.start();
  refundQueue.start();

  const sweeper = setInterval(async () => {
    try {
      const r = await sweep(sql);
      if (r.seatsReleased)
        console.log(`[sweeper] released ${r.seatsReleased} seats, expired ${r.ordersExpired} orders`);
    } catch (error) {
      console.error('[sweeper] failed', error);
    }
  }, config.SWEEP_INTERVAL_SECONDS * 1000);

  const relay = setInterval(async () => {
    try {
      await relayOutbox(sql, bus);
    } catch (error) {
      console.error('[relay] failed', error);
    }
  }, 2000);

  return {
    queue,
    stop: async () => {
      clearInterval(sweeper);
      clearInterval(relay);
      await queue.stop();
      await refundQueue.stop();
    },
  };
}
