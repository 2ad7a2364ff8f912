import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';

let db: TestDatabase;
let scheduleId: number;
let seatId: number;
let scheduleSeatId: number;
let orderId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  const [concert] =
    await sql`insert into concerts (title, artist, genre) values ('T', 'A', 'rock') returning id`;
  const [venue] = await sql`insert into venues (name) values ('Hall') returning id`;
  const [seat] = await sql`
    insert into seats (venue_id, section, row_label, number, seat_type, base_price)
    values (${venue!.id}, 'A', '1', 1, 'vip', 100) returning id`;
  seatId = seat!.id;
  const [schedule] = await sql`
    insert into schedules (concert_id, venue_id, start_at, end_at)
    values (${concert!.id}, ${venue!.id}, now() + interval '1 day', now() + interval '1 day 2 hours') returning id`;
  scheduleId = schedule!.id;
  const [ss] = await sql`
    insert into schedule_seats (schedule_id, seat_id, price) values (${scheduleId}, ${seatId}, 100) returning id`;
  scheduleSeatId = ss!.id;
  const [order] = await sql`
    insert into orders (schedule_id, total_amount, hold_expires_at)
    values (${scheduleId}, 100, now() + interval '5 minutes') returning id`;
  orderId = order!.id;
});
afterAll(() => db.drop());

const violates = (constraint: RegExp) =>
  expect.objectContaining({ message: expect.stringMatching(constraint) });

describe('schema constraints', () => {
  it('rejects an unknown status on every status column', async () => {
    await expect(db.sql`update schedules set status = 'open' where id = ${scheduleId}`).rejects.toEqual(
      violates(/check constraint/),
    );
    await expect(
      db.sql`update schedule_seats set status = 'sold' where id = ${scheduleSeatId}`,
    ).rejects.toEqual(violates(/check constraint/));
    await expect(db.sql`update orders set status = 'done' where id = ${orderId}`).rejects.toEqual(
      violates(/check constraint/),
    );
    await expect(
      db.sql`insert into order_items (order_id, schedule_seat_id, price, status) values (${orderId}, ${scheduleSeatId}, 1, 'x')`,
    ).rejects.toEqual(violates(/check constraint/));
    await expect(
      db.sql`insert into payments (order_id, provider, amount, status) values (${orderId}, 'card', 1, 'ok')`,
    ).rejects.toEqual(violates(/check constraint/));
  });

  it('rejects negative money', async () => {
    await expect(db.sql`update seats set base_price = -1 where id = ${seatId}`).rejects.toEqual(
      violates(/check constraint/),
    );
    await expect(
      db.sql`update schedule_seats set price = -0.01 where id = ${scheduleSeatId}`,
    ).rejects.toEqual(violates(/check constraint/));
    await expect(db.sql`update orders set total_amount = -5 where id = ${orderId}`).rejects.toEqual(
      violates(/check constraint/),
    );
    await expect(
      db.sql`insert into payments (order_id, provider, amount) values (${orderId}, 'card', -1)`,
    ).rejects.toEqual(violates(/check constraint/));
  });

  it('rejects a duplicate seat position in a venue and a duplicate seat in a schedule', async () => {
    await expect(
      db.sql`insert into seats (venue_id, section, row_label, number, seat_type, base_price)
             select venue_id, section, row_label, number, seat_type, base_price from seats where id = ${seatId}`,
    ).rejects.toEqual(violates(/duplicate key/));
    await expect(
      db.sql`insert into schedule_seats (schedule_id, seat_id, price) values (${scheduleId}, ${seatId}, 1)`,
    ).rejects.toEqual(violates(/duplicate key/));
  });

  it('rejects orphan references', async () => {
    await expect(
      db.sql`insert into schedule_seats (schedule_id, seat_id, price) values (${scheduleId}, 999999, 1)`,
    ).rejects.toEqual(violates(/foreign key/));
    await expect(
      db.sql`insert into orders (schedule_id, total_amount, hold_expires_at) values (999999, 0, now())`,
    ).rejects.toEqual(violates(/foreign key/));
    await expect(
      db.sql`insert into payments (order_id, provider, amount) values (999999, 'card', 1)`,
    ).rejects.toEqual(violates(/foreign key/));
  });

  it('never lets one performance seat be in two live order items', async () => {
    const [other] = await db.sql`
      insert into orders (schedule_id, total_amount, hold_expires_at) values (${scheduleId}, 100, now()) returning id`;
    await db.sql`insert into order_items (order_id, schedule_seat_id, price) values (${orderId}, ${scheduleSeatId}, 100)`;

    await expect(
      db.sql`insert into order_items (order_id, schedule_seat_id, price) values (${other!.id}, ${scheduleSeatId}, 100)`,
    ).rejects.toEqual(violates(/order_items_one_live_per_seat/));
  });

  it('keeps a held seat consistent: a hold needs an expiry and an order', async () => {
    await expect(
      db.sql`update schedule_seats set status = 'held' where id = ${scheduleSeatId}`,
    ).rejects.toEqual(violates(/check constraint/));
  });

  it('refuses to delete sales history', async () => {
    await expect(db.sql`delete from schedules where id = ${scheduleId}`).rejects.toEqual(
      violates(/foreign key/),
    );
  });
});
