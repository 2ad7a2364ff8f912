import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import {
  CANCEL_REASONS,
  ORDER_ITEM_STATUSES,
  ORDER_STATUSES,
  PAYMENT_EVENT_TYPES,
  PAYMENT_STATUSES,
  PROVIDERS,
  REFUND_STATUSES,
  SCHEDULE_STATUSES,
  SEAT_STATUSES,
  WAITLIST_STATUSES,
} from './vocabulary';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

/** Each column whose CHECK constraint lists its allowed words, and the tuple that declares them. */
const declared: Record<string, readonly string[]> = {
  'schedules.status': SCHEDULE_STATUSES,
  'schedule_seats.status': SEAT_STATUSES,
  'orders.status': ORDER_STATUSES,
  'orders.cancel_reason': CANCEL_REASONS,
  'order_items.status': ORDER_ITEM_STATUSES,
  'payments.status': PAYMENT_STATUSES,
  'payments.provider': PROVIDERS,
  'payments.refund_status': REFUND_STATUSES,
  'webhook_events.provider': PROVIDERS,
  'webhook_events.type': PAYMENT_EVENT_TYPES,
  'waitlist_entries.status': WAITLIST_STATUSES,
};

/** Single-column CHECK constraints of the form `column in ('a', 'b', …)`, as PostgreSQL stores them. */
async function listedWords(): Promise<Record<string, string[]>> {
  const rows = await db.sql<{ column: string; definition: string }[]>`
    select c.conrelid::regclass::text || '.' || a.attname as column, pg_get_constraintdef(c.oid) as definition
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    join pg_namespace n on n.oid = c.connamespace
    where c.contype = 'c' and n.nspname = current_schema() and cardinality(c.conkey) = 1
      and pg_get_constraintdef(c.oid) like '%= ANY (ARRAY[%'
  `;
  return Object.fromEntries(
    rows.map((r) => [r.column, [...r.definition.matchAll(/'([^']*)'::text/g)].map((m) => m[1]!)]),
  );
}

describe('vocabulary', () => {
  it('declares exactly the words each CHECK constraint allows, in the same order', async () => {
    const inDatabase = await listedWords();

    expect(inDatabase).toEqual(Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, [...v]])));
  });
});
