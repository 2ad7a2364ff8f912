import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

interface Message {
  id: string;
  body: string;
  receiveCount: number;
  visibleAt: number;
  sentAt: number;
}

export interface LocalQueueOptions {
  batchSize?: number;
  visibilityTimeoutMs?: number;
  maxReceiveCount?: number;
  pollIntervalMs?: number;
}

/**
 * An in-process stand-in for SQS with the semantics the processor relies on: batches of up to 10,
 * a message invisible while being processed, redelivered after the visibility timeout unless the
 * handler reported success for it, and moved to a dead-letter list after `maxReceiveCount` receives.
 */
export class LocalQueue<T = unknown> {
  readonly deadLetters: Message[] = [];
  private messages: Message[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly options: Required<LocalQueueOptions>;

  constructor(
    private readonly handler: SqsHandler,
    options: LocalQueueOptions = {},
    /** Shown as the records' eventSourceARN, as SQS does. */
    private readonly name = 'payment-events',
  ) {
    this.options = {
      batchSize: 10,
      visibilityTimeoutMs: 2000,
      maxReceiveCount: 5,
      pollIntervalMs: 25,
      ...options,
    };
  }

  async send(message: T): Promise<void> {
    const now = Date.now();
    this.messages.push({
      id: randomUUID(),
      body: JSON.stringify(message),
      receiveCount: 0,
      visibleAt: now,
      sentAt: now,
    });
  }

  get depth(): number {
    return this.messages.length;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.options.pollIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.polling) await new Promise((r) => setTimeout(r, 10));
  }

  /** One receive: what a Lambda event source mapping does on each poll. Returns messages handled. */
  async poll(): Promise<number> {
    if (this.polling) return 0;
    this.polling = true;
    try {
      const now = Date.now();
      for (const m of this.messages.filter(
        (m) => m.receiveCount >= this.options.maxReceiveCount && m.visibleAt <= now,
      )) {
        this.deadLetters.push(m);
      }
      this.messages = this.messages.filter((m) => !this.deadLetters.includes(m));
      const batch = this.messages.filter((m) => m.visibleAt <= now).slice(0, this.options.batchSize);
      if (batch.length === 0) return 0;
      for (const m of batch) {
        m.receiveCount++;
        m.visibleAt = now + this.options.visibilityTimeoutMs;
      }
      let failed = new Set(batch.map((m) => m.id));
      try {
        const response = await this.handler(this.toEvent(batch), {
          awsRequestId: randomUUID(),
          functionName: this.name,
          getRemainingTimeInMillis: () => 30_000,
        } as Context);
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch {
        // the whole invocation failed: every message comes back after the visibility timeout
      }
      this.messages = this.messages.filter((m) => !batch.includes(m) || failed.has(m.id));
      return batch.length;
    } finally {
      this.polling = false;
    }
  }

  /** Processes until the queue is empty or only invisible messages remain (tests). */
  async drain(): Promise<void> {
    while ((await this.poll()) > 0) {}
  }

  private toEvent(batch: Message[]): SQSEvent {
    return {
      Records: batch.map((m) => ({
        messageId: m.id,
        receiptHandle: m.id,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: String(m.sentAt),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:local:000000000000:${this.name}`,
        awsRegion: 'local',
      })),
    };
  }
}
