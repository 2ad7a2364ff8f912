import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql } from '../db/client';
import { createTestApi, type TestApi } from '../test/api';
import { createTestDatabase, untilSomeoneWaitsForALock } from '../test/db';
import { createShow, invariantViolations } from '../test/fixtures';
import { placeBestAvailable } from './best-available';
import { createConcert, createSchedule, createVenue } from './catalog';

let api: TestApi;
let admin: string;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_ORDER: '6', MAX_SEATS_PER_USER: '1000' });
  admin = await api.adminToken();
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

const pick = async (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  api.request('POST', '/orders', { token, body, headers });
const numbersOf = async (orderBody: { items: { number: number; rowLabel: string }[] }) =>
  orderBody.items.map((i) => `${i.rowLabel}-${i.number}`);

/** A venue with explicit sections so filters have something to choose between. */
async function hall(
  sections: {
    section: string;
    rows: { rowLabel: string; seats: number; seatType: string; basePrice: number }[];
  }[],
  noSingleSeatGaps = false,
) {
  const concert = (
    await api.request('POST', '/admin/concerts', { token: admin, body: { title: 'BA', artist: 'BA' } })
  ).body;
  const venue = (
    await api.request('POST', '/admin/venues', { token: admin, body: { name: 'BA Hall', sections } })
  ).body;
  const start = new Date(Date.now() + 86_400_000);
  const schedule = (
    await api.request('POST', '/admin/schedules', {
      token: admin,
      body: {
        concertId: concert.id,
        venueId: venue.id,
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + 3600_000).toISOString(),
        noSingleSeatGaps,
      },
    })
  ).body;
  return schedule.id as number;
}

describe('best available (quantity)', () => {
  it('picks adjacent seats in the best row, nearest the centre', async () => {
    const scheduleId = await hall([
      {
        section: 'A',
        rows: [
          { rowLabel: '1', seats: 10, seatType: 's', basePrice: 10 },
          { rowLabel: '2', seats: 10, seatType: 's', basePrice: 10 },
        ],
      },
    ]);
    const fan = await api.token('ba-1');

    const first = await pick(fan, { scheduleId, quantity: 2 });
    const second = await pick(fan, { scheduleId, quantity: 3 });

    expect(first.status).toBe(201);
    expect(await numbersOf(first.body)).toEqual(['1-5', '1-6']);
    expect(first.body).toMatchObject({ status: 'created', totalAmount: '20.00' });
    // every block of 3 left in row 1 (within 1-1..1-4 and 1-7..1-10) strands one seat: row 2's centre wins
    expect(await numbersOf(second.body)).toEqual(['2-4', '2-5', '2-6']);
  });

  it('never strands a single seat when another block of the row avoids it', async () => {
    const scheduleId = await hall([
      { section: 'A', rows: [{ rowLabel: '1', seats: 10, seatType: 's', basePrice: 10 }] },
    ]);
    const fans = await Promise.all(Array.from({ length: 5 }, (_, i) => api.token(`seq-${i}`)));

    const results = [];
    for (const fan of fans) results.push(await pick(fan, { scheduleId, quantity: 2 }));

    // stranding a seat anywhere would make a later pair impossible: all five pairs must fit
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect((await pick(fans[0]!, { scheduleId, quantity: 1 })).body.code).toBe('SOLD_OUT');
  });

  it('fills three rows with 30 concurrent pairs: no collisions, no deadlocks, no more stranded seats than one at a time', async () => {
    const rows = ['1', '2', '3'].map((rowLabel) => ({ rowLabel, seats: 20, seatType: 's', basePrice: 10 }));
    const concurrent = await hall([{ section: 'A', rows }]);
    const sequential = await hall([{ section: 'A', rows }]);
    const fans = await Promise.all(Array.from({ length: 30 }, (_, i) => api.token(`rush-pair-${i}`)));

    const results = await Promise.all(fans.map((fan) => pick(fan, { scheduleId: concurrent, quantity: 2 })));
    for (const fan of fans) await pick(fan, { scheduleId: sequential, quantity: 2 });

    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.every((r) => r.status === 201 || r.body.code === 'SOLD_OUT')).toBe(true);
    const won = results.filter((r) => r.status === 201);
    const seats = won.flatMap((r) => r.body.items.map((i: { seatId: number }) => i.seatId));
    expect(new Set(seats).size).toBe(seats.length);
    for (const r of won) {
      const [a, b] = r.body.items;
      expect([a.rowLabel, Math.abs(a.number - b.number)]).toEqual([b.rowLabel, 1]);
    }
    const freeAfter = async (scheduleId: number) =>
      (
        await api.sql`
          with s as (
            select seat.row_label, seat.number, ss.status = 'available' as free
            from schedule_seats ss join seats seat on seat.id = ss.seat_id where ss.schedule_id = ${scheduleId}
          ), w as (
            select free, coalesce(lag(free) over x, false) as l, coalesce(lead(free) over x, false) as r
            from s window x as (partition by row_label order by number)
          )
          select count(*) filter (where free)::int as free, count(*) filter (where free and not l and not r)::int as lonely from w`
      )[0]!;
    const [mine, baseline] = [await freeAfter(concurrent), await freeAfter(sequential)];
    // SOLD_OUT only once no pair was left: every seat still free is a lonely one
    expect(mine.free).toBe(mine.lonely);
    expect(mine.free).toBe(60 - 2 * won.length);
    // centre-first picks of pairs leave the odd seat at each row end; concurrency adds none
    expect(mine.lonely).toBeLessThanOrEqual(baseline.lonely);
  });

  it('honours section, seat type and price filters, and answers SOLD_OUT when no block fits', async () => {
    const scheduleId = await hall([
      { section: 'Floor', rows: [{ rowLabel: '1', seats: 4, seatType: 'vip', basePrice: 200 }] },
      { section: 'Balcony', rows: [{ rowLabel: 'B1', seats: 6, seatType: 'std', basePrice: 50 }] },
    ]);
    const fan = await api.token('filters');

    const balcony = await pick(fan, { scheduleId, quantity: 2, section: 'Balcony' });
    const vip = await pick(fan, { scheduleId, quantity: 2, seatType: 'vip' });
    const cheap = await pick(fan, { scheduleId, quantity: 2, maxPrice: '60' });
    const tooMany = await pick(fan, { scheduleId, quantity: 5, section: 'Floor' });
    const nothing = await pick(fan, { scheduleId, quantity: 2, maxPrice: 10 });

    expect(balcony.body.items.every((i: { section: string }) => i.section === 'Balcony')).toBe(true);
    expect(vip.body.items.every((i: { section: string }) => i.section === 'Floor')).toBe(true);
    expect(cheap.body.items.every((i: { price: string }) => i.price === '50.00')).toBe(true);
    expect([tooMany.status, tooMany.body.code]).toEqual([409, 'SOLD_OUT']);
    expect([nothing.status, nothing.body.code]).toEqual([409, 'SOLD_OUT']);
  });

  it('applies the same limits, sales rules and idempotency as explicit picks', async () => {
    const show = await createShow(api.sql, { rows: 2, seatsPerRow: 10 });
    const fan = await api.token('ba-limits');

    const tooMany = await pick(fan, { scheduleId: show.scheduleId, quantity: 7 });
    const first = await pick(
      fan,
      { scheduleId: show.scheduleId, quantity: 2 },
      { 'idempotency-key': 'ba-k' },
    );
    const replay = await pick(
      fan,
      { scheduleId: show.scheduleId, quantity: 2 },
      { 'idempotency-key': 'ba-k' },
    );
    const unknown = await pick(fan, { scheduleId: 999999, quantity: 2 });
    const mixed = await pick(fan, { scheduleId: show.scheduleId, quantity: 2, seatIds: [1] });

    expect([tooMany.status, tooMany.body.code]).toEqual([422, 'SEAT_LIMIT_EXCEEDED']);
    expect(replay.body).toEqual(first.body);
    expect(unknown.status).toBe(404);
    expect(mixed.status).toBe(400);
  });
});

describe('an inactive concert', () => {
  it('sells no best-available seats of its schedules: 409 SALES_CLOSED, nothing held', async () => {
    const show = await createShow(api.sql, { rows: 2, seatsPerRow: 10 });
    const fan = await api.token('ba-inactive');
    await api.request('PATCH', `/admin/concerts/${show.concertId}`, {
      token: admin,
      body: { isActive: false },
    });

    const res = await pick(fan, { scheduleId: show.scheduleId, quantity: 2 });

    expect([res.status, res.body.code]).toEqual([409, 'SALES_CLOSED']);
    const [row] = await api.sql`
      select count(*)::int as n from schedule_seats where schedule_id = ${show.scheduleId} and status <> 'available'`;
    expect(row!.n).toBe(0);
  });
});

describe('explicit picks under the single-seat rule', () => {
  it('refuses a pick that strands one seat when the schedule enables the rule, and allows it otherwise', async () => {
    const strict = await hall(
      [{ section: 'A', rows: [{ rowLabel: '1', seats: 6, seatType: 's', basePrice: 10 }] }],
      true,
    );
    const lenient = await hall(
      [{ section: 'A', rows: [{ rowLabel: '1', seats: 6, seatType: 's', basePrice: 10 }] }],
      false,
    );
    const seatsOf = async (id: number) =>
      (await api.request('GET', `/schedules/${id}/seats`)).body.seats.map(
        (s: { seatId: number }) => s.seatId,
      );
    const [s1, s2, s3] = await seatsOf(strict);
    const [l1, l2, l3] = await seatsOf(lenient);
    const fan = await api.token('gap-fan');

    const stranding = await pick(fan, { scheduleId: strict, seatIds: [s2, s3] });
    const fine = await pick(fan, { scheduleId: strict, seatIds: [s1, s2] });
    const allowed = await pick(fan, { scheduleId: lenient, seatIds: [l2, l3] });

    expect([stranding.status, stranding.body.code, stranding.body.seatIds]).toEqual([
      422,
      'SINGLE_SEAT_GAP',
      [s1],
    ]);
    expect(fine.status).toBe(201);
    expect(allowed.status).toBe(201);
    void l1;
  });
});

describe('best available under a rush (real concurrent connections)', () => {
  /** A 100-seat section (5 rows of 20) and one fan per pick, each pick on its own connection. */
  async function rush(picks: number) {
    const db = await createTestDatabase({ max: picks });
    const concert = await createConcert(db.sql, { title: 'Rush', artist: 'Rush' });
    const venue = await createVenue(db.sql, {
      name: 'Rush Hall',
      sections: [
        {
          section: 'A',
          rows: ['1', '2', '3', '4', '5'].map((rowLabel) => ({
            rowLabel,
            seats: 20,
            seatType: 's',
            basePrice: 10,
          })),
        },
      ],
    });
    const start = new Date(Date.now() + 86_400_000);
    const schedule = await createSchedule(db.sql, {
      concertId: concert.id,
      venueId: venue.id,
      startAt: start.toISOString(),
      endAt: new Date(start.getTime() + 3600_000).toISOString(),
    });
    const users = await db.sql<{ id: number }[]>`
      insert into users (sub) select 'rush-' || g from generate_series(1, ${picks}) as g returning id`;
    // every connection open before the rush, so the picks really run at once
    await Promise.all(users.map(() => db.sql`select 1`));
    const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 8 };
    const outcomes = await Promise.all(
      users.map(({ id }) =>
        placeBestAvailable(db.sql, id, { scheduleId: schedule.id, quantity: 2, section: 'A' }, limits).then(
          (placed) => placed.order.items,
          (error: { code?: string; message?: string }) => error.code ?? String(error.message),
        ),
      ),
    );
    const [free] = await db.sql<{ free: number; alone: number }[]>`
      with s as (
        select seat.row_label, seat.number, seat_is_free(ss) as free
        from schedule_seats ss join seats seat on seat.id = ss.seat_id where ss.schedule_id = ${schedule.id}
      ), w as (
        select free, coalesce(lag(free) over x, false) as l, coalesce(lead(free) over x, false) as r
        from s window x as (partition by row_label order by number)
      )
      select count(*) filter (where free)::int as free, count(*) filter (where free and not l and not r)::int as alone
      from w`;
    await db.drop();
    return { outcomes, free: free! };
  }

  it('100 picks of 2 for 100 seats at once: 50 pairs, all distinct and adjacent, every seat sold, the rest SOLD_OUT', async () => {
    const { outcomes, free } = await rush(100);

    const held = outcomes.filter((o) => Array.isArray(o));
    const refused = outcomes.filter((o) => !Array.isArray(o));
    expect(new Set(refused)).toEqual(new Set(['SOLD_OUT']));
    expect(held).toHaveLength(50);
    const seatIds = held.flatMap((items) => items.map((i) => i.seatId));
    expect(new Set(seatIds).size).toBe(100);
    for (const [a, b] of held)
      expect([a!.rowLabel, Math.abs(a!.number - b!.number)]).toEqual([b!.rowLabel, 1]);
    // rows of 20 filled by pairs leave nothing when no pick strands a seat
    expect(free).toEqual({ free: 0, alone: 0 });
  });
});

describe('the turnstile: picks of a schedule one at a time', () => {
  const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 100 };
  const rows = (labels: string[], seats: number) => [
    { section: 'T', rows: labels.map((rowLabel) => ({ rowLabel, seats, seatType: 's', basePrice: 10 })) },
  ];
  const userIds = async (n: number, prefix: string) =>
    (
      await api.sql<{ id: number }[]>`
        insert into users (sub) select ${prefix} || '-' || g from generate_series(1, ${n}) as g returning id`
    ).map((u) => u.id);

  it('serves picks in the order they came: the first to ask gets the best row', async () => {
    const scheduleId = await hall(rows(['1', '2', '3'], 2));
    const [a, b, c] = await userIds(3, 'turnstile');
    // someone is in the turnstile; three fans queue behind it, one after the other
    const inside = createSql({ url: api.db.url, max: 1 });
    const queue = createSql({ url: api.db.url, max: 3 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const picks: Promise<string>[] = [];
    let holder: Promise<unknown> = Promise.resolve();
    try {
      // the holder must be inside before anyone queues: on a busy machine its connection can come up
      // after the picks' own, and a pick that walks straight through would break the count below
      let inSide!: () => void;
      const holding = new Promise<void>((resolve) => {
        inSide = resolve;
      });
      holder = inside.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(pick_lock_key(${scheduleId}))`;
        inSide();
        await released;
      });
      await holding;
      for (const [i, userId] of [a!, b!, c!].entries()) {
        picks.push(
          placeBestAvailable(queue, userId, { scheduleId, quantity: 2 }, limits).then(
            (placed) => placed.order.items[0]!.rowLabel,
          ),
        );
        await untilSomeoneWaitsForALock(api.sql, { waiters: i + 1 });
      }
      release();
      await holder;
      expect(await Promise.all(picks)).toEqual(['1', '2', '3']);
    } finally {
      // a failure above must not leave the holder waiting forever (end() waits for it) nor picks unread
      release();
      await Promise.allSettled([holder, ...picks]);
      await inside.end();
      await queue.end();
    }
  });

  it('a pick cancelled anywhere leaves no turnstile behind: the next pick goes through', async () => {
    const scheduleId = await hall(rows(['1', '2', '3', '4', '5', '6', '7', '8'], 20));
    const [fan, next] = await userIds(2, 'cancelled');
    const hasty = createSql({ url: api.db.url, max: 1 });
    try {
      const [backend] = await hasty<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await placeBestAvailable(hasty, fan!, { scheduleId, quantity: 2 }, limits);
      // statement timeouts that fall at every point of a pick, the turnstile included
      const cancelled: string[] = [];
      for (let ms = 1; ms <= 30; ms++) {
        await hasty.unsafe(`set statement_timeout = ${ms % 6}`);
        await placeBestAvailable(hasty, fan!, { scheduleId, quantity: 2 }, limits).catch((error: Error) =>
          cancelled.push(error.message),
        );
      }
      expect(cancelled.length).toBeGreaterThan(0);
      const held =
        await api.sql`select 1 from pg_locks where locktype = 'advisory' and pid = ${backend!.pid}`;
      expect(held).toHaveLength(0);
      const placed = await placeBestAvailable(api.sql, next!, { scheduleId, quantity: 2 }, limits);
      expect(placed.order.items).toHaveLength(2);
    } finally {
      await hasty.end();
    }
  });

  it('a pick knows whether it holds the turnstile, so its error path releases only a lock it has', async () => {
    const scheduleId = await hall(rows(['1'], 4));
    const session = createSql({ url: api.db.url, max: 1 });
    const holds = async (key: string) =>
      (await session<{ held: boolean }[]>`select session_holds_advisory_lock(${key}::bigint) as held`)[0]!
        .held;
    try {
      const [{ key }] = await session<[{ key: string }]>`select pick_lock_key(${scheduleId})::text as key`;
      const [{ other }] = await session<
        [{ other: string }]
      >`select pick_lock_key(${scheduleId + 1})::text as other`;
      const before = await holds(key);
      await session`select pg_advisory_lock(${key}::bigint)`;
      const during = [await holds(key), await holds(other)];
      await session`select pg_advisory_unlock(${key}::bigint)`;
      // a key whose halves both have the top bit set reads back from pg_locks too
      await session`select pg_advisory_lock(-1)`;
      const negative = await holds('-1');
      await session`select pg_advisory_unlock(-1)`;

      expect({ before, during, after: await holds(key), negative }).toEqual({
        before: false,
        during: [true, false],
        after: false,
        negative: true,
      });
    } finally {
      await session.end();
    }
  });

  it("a connection's first pick rehearses its reads before it queues, taking nothing: one order, its seats", async () => {
    const scheduleId = await hall(rows(['1'], 4));
    const [fan] = await userIds(1, 'rehearsal');
    const fresh = createSql({ url: api.db.url, max: 1 });
    try {
      const [before] = await fresh<{ rehearsed: string | null }[]>`
        select current_setting('ticketing.best_available_rehearsed', true) as rehearsed`;
      const placed = await placeBestAvailable(fresh, fan!, { scheduleId, quantity: 2 }, limits);
      const [after] = await fresh<{ rehearsed: string | null }[]>`
        select current_setting('ticketing.best_available_rehearsed', true) as rehearsed`;

      expect([before!.rehearsed ?? null, after!.rehearsed]).toEqual([null, 'yes']);
      const orders = await api.sql`select id from orders where user_id = ${fan!}`;
      expect(orders.map((o) => o.id)).toEqual([placed.order.id]);
      const taken = await api.sql<{ n: number }[]>`
        select count(*)::int as n from schedule_seats where schedule_id = ${scheduleId} and status <> 'available'`;
      expect(taken[0]!.n).toBe(2);
    } finally {
      await fresh.end();
    }
  });
});
