import type { Sql } from '../db/client';
import { checkClosedAttempts } from '../domain/checkout';
import type { Config } from '../domain/config';
import { relayOutbox } from '../domain/outbox-relay';
import type { DomainEvent, EventPublisher } from '../domain/ports';
import { settleCancelledSchedules } from '../domain/schedules';
import { sweep } from '../domain/sweeper';
import { advanceWaitingRooms } from '../domain/waiting-room';
import { gatewayFor } from '../functions/adapters/gateways';
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
 * What AWS runs for us, locally: the sweeper, schedule canceller and waiting room schedules, the payment-event
 * queue + processor, the outbox relay onto a bus whose rule feeds the refund queue + worker.
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

  // every 2 s rather than AWS's minute, so that a cancel tried locally is settled at once; one run
  // at a time, as reserved concurrency 1 makes it in AWS
  let cancelling = false;
  const canceller = setInterval(async () => {
    if (cancelling) return;
    cancelling = true;
    try {
      const r = await settleCancelledSchedules(sql);
      if (r.ordersCancelled || r.ordersRefunded)
        console.log(`[canceller] cancelled ${r.ordersCancelled} orders, refunded ${r.ordersRefunded}`);
      for (const f of r.failed) console.error(`[canceller] order ${f.orderId} failed: ${f.error}`);
    } catch (error) {
      console.error('[canceller] failed', error);
    } finally {
      cancelling = false;
    }
  }, 2000);

  // AWS: every 5 minutes; locally every 30 s
  const gatewayCheck = setInterval(async () => {
    try {
      const r = await checkClosedAttempts(sql, gatewayFor);
      if (r.applied) console.log(`[gateway-check] applied ${r.applied} closed attempts the gateway reported`);
    } catch (error) {
      console.error('[gateway-check] failed', error);
    }
  }, 30_000);

  const relay = setInterval(async () => {
    try {
      await relayOutbox(sql, bus);
    } catch (error) {
      console.error('[relay] failed', error);
    }
  }, 2000);

  // AWS: every minute; locally every 10 s, so that a sell-out or returned seats show sooner (the
  // rate is the room's, however often its checkpoint moves)
  const advancer = setInterval(async () => {
    try {
      await advanceWaitingRooms(sql, new Date());
    } catch (error) {
      console.error('[waiting-room] failed', error);
    }
  }, 10_000);

  return {
    queue,
    stop: async () => {
      clearInterval(sweeper);
      clearInterval(advancer);
      clearInterval(canceller);
      clearInterval(relay);
      clearInterval(gatewayCheck);
      await queue.stop();
      await refundQueue.stop();
    },
  };
}
