import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DomainEvent, EventPublisher } from '../../domain/ports';

export const EVENT_SOURCE = 'ticketing';
/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;
const ATTEMPTS = 3;

/** Publishes outbox rows to the domain event bus; entries EventBridge refuses are retried. */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly busName: string,
    private readonly client = new EventBridgeClient({}),
  ) {}

  async publish(events: DomainEvent[]): Promise<number[]> {
    const failed: number[] = [];
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      failed.push(...(await this.putWithRetry(events.slice(i, i + MAX_ENTRIES))));
    }
    return failed;
  }

  private async putWithRetry(batch: DomainEvent[]): Promise<number[]> {
    let pending = batch;
    for (let attempt = 0; attempt < ATTEMPTS && pending.length; attempt++) {
      try {
        const result = await this.client.send(
          new PutEventsCommand({ Entries: pending.map((e) => this.entry(e)) }),
        );
        // results are positional: an entry with an ErrorCode was not accepted
        pending = pending.filter((_, i) => result.Entries?.[i]?.ErrorCode || !result.Entries?.[i]?.EventId);
      } catch {
        // the whole call failed: every entry of it is still pending
      }
    }
    return pending.map((e) => e.id);
  }

  private entry(event: DomainEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: EVENT_SOURCE,
      DetailType: event.detailType,
      Time: event.createdAt,
      Detail: JSON.stringify({ ...event.detail, outboxId: event.id }),
    };
  }
}
