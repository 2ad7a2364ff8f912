import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../functions/adapters/eventbridge-publisher';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { relayOutbox } from './outbox-relay';

let db: TestDatabase;
/** Pending outbox rows, as committed transactions leave them. */
const recordEvents = (sql: TestDatabase['sql'], type: string, details: Record<string, unknown>[]) =>
  sql`insert into outbox (detail_type, detail) select ${type}, d from jsonb_array_elements(${sql.json(details as never)}::jsonb) as d`;
const eventBridge = mockClient(EventBridgeClient);
const publisher = () => new EventBridgePublisher('bus', new EventBridgeClient({ region: 'ap-northeast-2' }));
const published = () =>
  eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).outboxId as number));

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
beforeEach(async () => {
  eventBridge.reset();
  await db.sql`delete from outbox`;
});

describe('relayOutbox', () => {
  it('publishes every pending row once and marks it sent', async () => {
    eventBridge
      .on(PutEventsCommand)
      .callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'x' })) }));
    await recordEvents(
      db.sql,
      'order.paid',
      Array.from({ length: 25 }, (_, i) => ({ orderId: i })),
    );

    const result = await relayOutbox(db.sql, publisher(), 10);

    expect(result).toEqual({ published: 25, failed: 0 });
    const [row] =
      await db.sql`select count(*) filter (where published_at is null)::int as pending from outbox`;
    expect(row!.pending).toBe(0);
    expect(published()).toHaveLength(25);
    expect(await relayOutbox(db.sql, publisher(), 10)).toEqual({ published: 0, failed: 0 });
  });

  it('keeps refused rows pending for the next run: none is lost', async () => {
    let down = true;
    eventBridge.on(PutEventsCommand).callsFake((input) => ({
      FailedEntryCount: down ? input.Entries.length : 0,
      Entries: input.Entries.map(() => (down ? { ErrorCode: 'ServiceUnavailable' } : { EventId: 'x' })),
    }));
    await recordEvents(db.sql, 'order.cancelled', [{ orderId: 1 }, { orderId: 2 }]);

    const first = await relayOutbox(db.sql, publisher());
    down = false;
    const second = await relayOutbox(db.sql, publisher());

    expect(first).toEqual({ published: 0, failed: 2 });
    expect(second).toEqual({ published: 2, failed: 0 });
    const rows = await db.sql`select attempts, published_at is not null as sent from outbox order by id`;
    expect(rows.map((r) => [r.attempts, r.sent])).toEqual([
      [1, true],
      [1, true],
    ]);
  });

  it('two relays at once never publish a row twice', async () => {
    eventBridge.on(PutEventsCommand).callsFake(async (input) => {
      await new Promise((r) => setTimeout(r, 5));
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'x' })) };
    });
    await recordEvents(
      db.sql,
      'order.paid',
      Array.from({ length: 60 }, (_, i) => ({ orderId: i })),
    );

    await Promise.all([relayOutbox(db.sql, publisher(), 10), relayOutbox(db.sql, publisher(), 10)]);

    const ids = published();
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
  });
});
