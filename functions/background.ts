import { type BackgroundModules, type HandlerRef, handlersIn } from './handlers';
import type { Need } from './needs';

/** What invokes a background function. */
export type Trigger =
  /** SQS → Lambda: batches of a queue, failed records reported one by one. */
  | {
      kind: 'queue';
      /** payments: PG events from the webhook receiver; refunds: `refund.requested` events from the bus. */
      queue: 'payments' | 'refunds';
      batchSize: number;
      maxBatchingWindowSeconds: number;
      /** Concurrent batches at most (SQS's scaling stops there instead of being throttled). */
      maxConcurrency: number;
    }
  /** EventBridge Scheduler, at a fixed rate; never retried (the next tick does the work). */
  | { kind: 'schedule'; everyMinutes: number }
  /** Once per deploy, before the other functions change (a CDK trigger). */
  | { kind: 'deploy' };

export interface BackgroundDef {
  handler: HandlerRef<keyof BackgroundModules>;
  summary: string;
  trigger: Trigger;
  /** What the handler uses; the stack grants exactly these (functions/needs.ts). */
  needs: readonly Need[];
  timeoutSeconds: number;
  /**
   * Concurrency set aside so that an on-sale's API traffic cannot starve this function; 1 also
   * means two runs never overlap.
   */
  reservedConcurrency?: number;
  /** Project files copied next to the bundle (`from` is relative to the project root). */
  files?: readonly { from: string; to: string }[];
  /** An alarm on any error of this function, with this description. */
  alarmOnErrors?: string;
}

/**
 * The one table of functions that no route invokes. The CDK stack makes one Lambda per entry and
 * wires its trigger; `npm run bench` measures their bundles from the same table.
 */
export const background = {
  paymentProcessor: {
    handler: handlersIn('payment-processor')('handler'),
    summary: 'Applies queued PG payment events',
    trigger: {
      kind: 'queue',
      queue: 'payments',
      batchSize: 10,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 5,
    },
    needs: ['database', 'gatewaySettings', 'gatewaySecrets', 'internet'],
    timeoutSeconds: 30,
    reservedConcurrency: 5,
  },
  refundWorker: {
    handler: handlersIn('refund-worker')('handler'),
    summary: "Sends requested refunds to the gateways' cancel APIs",
    trigger: {
      kind: 'queue',
      queue: 'refunds',
      batchSize: 5,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 2,
    },
    // webhookSecret: the built-in gateway (card, kakao, naver) signs its cancel calls with that key
    needs: ['database', 'gatewaySettings', 'gatewaySecrets', 'webhookSecret', 'internet'],
    timeoutSeconds: 60,
    reservedConcurrency: 2,
  },
  sweeper: {
    handler: handlersIn('sweeper')('handler'),
    summary: 'Expires lapsed holds and unpaid orders',
    trigger: { kind: 'schedule', everyMinutes: 1 },
    needs: ['database'],
    timeoutSeconds: 60,
    reservedConcurrency: 1,
    alarmOnErrors: 'The sweeper failed: lapsed holds are not being tidied',
  },
  scheduleCanceller: {
    handler: handlersIn('schedule-canceller')('handler'),
    summary: 'Cancels the unpaid orders and refunds the paid ones of cancelled schedules',
    trigger: { kind: 'schedule', everyMinutes: 1 },
    needs: ['database'],
    // a run stops taking orders 20 s before this (STOP_WITH_MS_LEFT): about 40 s of work a minute
    timeoutSeconds: 60,
    reservedConcurrency: 1,
    alarmOnErrors:
      'The schedule canceller failed: a cancelled show still has orders it could not cancel or refund',
  },
  gatewayCheck: {
    handler: handlersIn('gateway-check')('handler'),
    summary: 'Asks Toss and PortOne about attempts closed without their word, and applies what they say',
    trigger: { kind: 'schedule', everyMinutes: 5 },
    needs: ['database', 'gatewaySettings', 'gatewaySecrets', 'internet'],
    timeoutSeconds: 60,
    reservedConcurrency: 1,
  },
  waitingRoomAdvancer: {
    handler: handlersIn('waiting-room-advancer')('handler'),
    summary: "Moves each open waiting room's admission checkpoint on: the rate, stopped while sold out",
    trigger: { kind: 'schedule', everyMinutes: 1 },
    needs: ['database'],
    timeoutSeconds: 60,
    reservedConcurrency: 1,
    // a checkpoint runs two minutes: past that, rooms stop admitting
    alarmOnErrors:
      'The waiting room advancer failed: waiting rooms stop admitting two minutes after its last run',
  },
  outboxRelay: {
    handler: handlersIn('outbox-relay')('handler'),
    summary: 'Publishes outbox rows to the domain event bus',
    trigger: { kind: 'schedule', everyMinutes: 1 },
    needs: ['database', 'eventBus'],
    timeoutSeconds: 60,
    reservedConcurrency: 1,
  },
  migrate: {
    handler: handlersIn('migrate')('handler'),
    summary: 'Applies the migrations and readies the application role',
    trigger: { kind: 'deploy' },
    needs: ['databaseAdmin', 'appSecret'],
    // Long (a long migration must not fail the deploy), but below Lambda's 900 s: the CDK trigger's
    // own Lambda, capped at 900 s, must outlive it to report a failure (lib/api-stack.ts)
    timeoutSeconds: 780,
    files: [{ from: 'db/migrations', to: 'migrations' }],
  },
} as const satisfies Record<string, BackgroundDef>;

export const backgroundEntries = Object.entries(background) as [keyof typeof background, BackgroundDef][];
