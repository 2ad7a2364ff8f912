import type { DomainEvent, EventPublisher } from '../domain/ports';
import { EVENT_SOURCE } from '../functions/adapters/eventbridge-publisher';

/** Something a rule can deliver to: an SQS queue (locally a LocalQueue). */
export interface RuleTarget {
  send(message: unknown): Promise<void>;
}

/**
 * The local stand-in for the domain event bus and its rules (lib/api-stack.ts): every event is
 * handed to `log`, and events whose detail-type has a rule go to its target as EventBridge would
 * put them on an SQS queue — the whole event, `detail` carrying the outbox id the relay adds.
 */
export class LocalEventBus implements EventPublisher {
  constructor(
    private readonly rules: Record<string, RuleTarget>,
    private readonly log: (event: DomainEvent) => void = () => {},
  ) {}

  async publish(events: DomainEvent[]): Promise<number[]> {
    for (const e of events) {
      this.log(e);
      await this.rules[e.detailType]?.send({
        version: '0',
        id: `local-${e.id}`,
        'detail-type': e.detailType,
        source: EVENT_SOURCE,
        time: e.createdAt,
        detail: { ...e.detail, outboxId: e.id },
      });
    }
    return [];
  }
}
