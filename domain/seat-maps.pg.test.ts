import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResult } from '../functions/http/middleware';
import { dispatch, loadRoutes } from '../local/gateway';
import { createTestApi, type TestApi } from '../test/api';
import { createShow, invariantViolations, type Show } from '../test/fixtures';

/**
 * Seat maps at any size (API.md "Seat maps at any size"): the venue layout, the schedule's seat
 * status in layout order, and seat maps that stay under 5 MB up to 100,000 seats.
 */
let api: TestApi;
let admin: string;
let fan: string;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_ORDER: '8', MAX_SEATS_PER_USER: '100' });
  admin = await api.adminToken();
  fan = await api.token('fan-seat-maps');
});
afterAll(async () => {
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});

interface LayoutRow {
  rowLabel: string;
  seatType: string;
  firstNumber: number;
  count: number;
  firstSeatId: number;
}
interface Layout {
  venueId: number;
  seatCount: number;
  sections: { section: string; rows: LayoutRow[] }[];
}
interface SeatStatus {
  scheduleId: number;
  venueId: number;
  seatCount: number;
  availableCount: number;
  encoding: string;
  available: string;
}

/** Every seat of a layout, in layout order. */
const layoutSeats = (layout: Layout) =>
  layout.sections.flatMap(({ section, rows }) =>
    rows.flatMap((row) =>
      Array.from({ length: row.count }, (_, k) => ({
        seatId: row.firstSeatId + k,
        section,
        rowLabel: row.rowLabel,
        number: row.firstNumber + k,
        seatType: row.seatType,
      })),
    ),
  );

/** The seat status's bitset, decoded as its OpenAPI description says: one boolean per seat in layout order. */
function decodeStatus(status: SeatStatus): boolean[] {
  expect(status.encoding).toBe('bitset-base64');
  const bytes = Buffer.from(status.available, 'base64');
  expect(bytes.length).toBe(Math.ceil(status.seatCount / 8));
  const bits = Array.from(
    { length: bytes.length * 8 },
    (_, i) => ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) === 1,
  );
  // the padding bits of the last byte are 0
  expect(bits.slice(status.seatCount).every((b) => !b)).toBe(true);
  return bits.slice(0, status.seatCount);
}

/** What the database says of each seat of the schedule: free (available, or its hold lapsed) or not. */
async function freeInDb(scheduleId: number): Promise<Map<number, boolean>> {
  const rows = await api.sql<{ seatId: number; free: boolean }[]>`
    select seat_id as "seatId", seat_is_free(ss) as free from schedule_seats ss where schedule_id = ${scheduleId}`;
  return new Map(rows.map((r) => [r.seatId, r.free]));
}

const layoutOf = (venueId: number, headers: Record<string, string> = {}) =>
  api.request<Layout>('GET', `/venues/${venueId}/layout`, { headers });
const statusOf = (scheduleId: number, headers: Record<string, string> = {}) =>
  api.request<SeatStatus>('GET', `/schedules/${scheduleId}/seat-status`, { headers });
const etagOf = async (scheduleId: number) => (await statusOf(scheduleId)).headers.etag!;

const hold = (seatIds: number[], scheduleId: number) =>
  api.request('POST', '/orders', { token: fan, body: { scheduleId, seatIds } });

/** Makes the hold of an order lapse, as time passing would: no status changes, only the deadline. */
async function lapse(orderId: number) {
  await api.sql`update orders set hold_expires_at = now() - interval '1 second' where id = ${orderId}`;
  await api.sql`update schedule_seats set hold_expires_at = now() - interval '1 second' where order_id = ${orderId}`;
}

let paymentEvent = 0;
async function gatewaySays(
  type: 'payment.succeeded' | 'payment.failed',
  payment: { id: number; amount: string },
) {
  const res = await api.webhook('card', {
    eventId: `seat-maps-${++paymentEvent}`,
    type,
    paymentId: payment.id,
    pgTid: `tid-seat-maps-${payment.id}`,
    amount: payment.amount,
    occurredAt: new Date().toISOString(),
  });
  expect(res.status).toBe(202);
  await api.queue.drain();
}

describe('GET /venues/{venueId}/layout', () => {
  it('lists every seat of the venue in drawing order: sections by rank, rows as created, numbers ascending', async () => {
    const venue = await api.request('POST', '/admin/venues', {
      token: admin,
      body: {
        name: 'Layout Hall',
        sections: [
          {
            section: 'Balcony',
            rank: 2,
            rows: [{ rowLabel: 'B1', seats: 4, seatType: 'std', basePrice: 100 }],
          },
          {
            section: 'Floor',
            rank: 1,
            rows: [
              { rowLabel: 'F2', seats: 3, seatType: 'vip', basePrice: 300 },
              { rowLabel: 'F1', seats: 5, seatType: 'std', basePrice: 200 },
            ],
          },
        ],
      },
    });
    expect(venue.status).toBe(201);

    const res = await layoutOf(venue.body.id);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      venueId: venue.body.id,
      seatCount: 12,
      sections: [
        {
          section: 'Floor',
          rows: [
            { rowLabel: 'F2', seatType: 'vip', firstNumber: 1, count: 3, firstSeatId: expect.any(Number) },
            { rowLabel: 'F1', seatType: 'std', firstNumber: 1, count: 5, firstSeatId: expect.any(Number) },
          ],
        },
        {
          section: 'Balcony',
          rows: [
            { rowLabel: 'B1', seatType: 'std', firstNumber: 1, count: 4, firstSeatId: expect.any(Number) },
          ],
        },
      ],
    });
    // the layout's seat ids are the venue's seats, each where the database has it
    const inDb = await api.sql`
      select id as "seatId", section, row_label as "rowLabel", number, seat_type as "seatType"
      from seats where venue_id = ${venue.body.id}`;
    expect(layoutSeats(res.body).sort((a, b) => a.seatId - b.seatId)).toEqual(
      [...inDb].sort((a, b) => a.seatId - b.seatId),
    );
  });

  it('is cacheable: a strong ETag from the layout version, Cache-Control public, 304 on If-None-Match', async () => {
    const show = await createShow(api.sql, { rows: 2, seatsPerRow: 3 });

    const first = await layoutOf(show.venueId);
    const again = await layoutOf(show.venueId);
    const current = await layoutOf(show.venueId, { 'if-none-match': first.headers.etag! });
    const among = await layoutOf(show.venueId, { 'if-none-match': `"other", W/${first.headers.etag}` });
    const stale = await layoutOf(show.venueId, { 'if-none-match': '"other"' });
    await api.sql`update venues set seat_map_version = seat_map_version + 1 where id = ${show.venueId}`;
    const changed = await layoutOf(show.venueId, { 'if-none-match': first.headers.etag! });

    expect(first.headers.etag).toMatch(/^"[^"]+"$/);
    expect(first.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    expect(again.headers.etag).toBe(first.headers.etag);
    expect([current.status, current.body, current.headers.etag]).toEqual([304, '', first.headers.etag]);
    expect(current.headers['content-type']).toBeUndefined();
    expect(among.status).toBe(304);
    expect([stale.status, stale.body]).toEqual([200, first.body]);
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(first.headers.etag);
  });

  it('answers 404 for an unknown venue', async () => {
    expect((await layoutOf(999_999)).status).toBe(404);
  });
});

describe('GET /schedules/{scheduleId}/seat-status', () => {
  let show: Show;
  beforeAll(async () => {
    show = await createShow(api.sql, { rows: 4, seatsPerRow: 13 });
  });

  it('encodes every seat in layout order; decoded, it is what the database says of each seat', async () => {
    const taken = (await hold([show.seatIds[0]!, show.seatIds[14]!, show.seatIds[51]!], show.scheduleId))
      .body;
    const lapsed = (await hold([show.seatIds[7]!, show.seatIds[8]!], show.scheduleId)).body;
    await lapse(lapsed.id);

    const layout = (await layoutOf(show.venueId)).body;
    const res = await statusOf(show.scheduleId);
    const free = await freeInDb(show.scheduleId);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      scheduleId: show.scheduleId,
      venueId: show.venueId,
      seatCount: 52,
      availableCount: 49,
    });
    expect(res.body.seatCount).toBe(layout.seatCount);
    const bits = decodeStatus(res.body);
    const seats = layoutSeats(layout);
    expect(seats.map((s) => s.seatId)).toEqual(show.seatIds);
    expect(seats.map((s, i) => [s.seatId, bits[i]])).toEqual(
      seats.map((s) => [s.seatId, free.get(s.seatId)]),
    );
    expect(taken.items.map((i: { seatId: number }) => bits[show.seatIds.indexOf(i.seatId)])).toEqual([
      false,
      false,
      false,
    ]);
    expect([bits[7], bits[8]]).toEqual([true, true]);
  });

  it('keeps its ETag while nothing changes, and changes it when a seat is held, cancelled, lapses or is paid after its hold lapsed', async () => {
    const own = await createShow(api.sql, { rows: 1, seatsPerRow: 10 });
    const other = await createShow(api.sql, { rows: 1, seatsPerRow: 10 });
    const tags: string[] = [await etagOf(own.scheduleId)];
    const expectSame = async () => expect(await etagOf(own.scheduleId)).toBe(tags.at(-1));
    // the tag is the bits' hash: seats back as they were give the earlier tag again, rightly
    const expectNew = async () => {
      const tag = await etagOf(own.scheduleId);
      expect(tag).not.toBe(tags.at(-1));
      tags.push(tag);
    };

    await expectSame();
    // another schedule's seats are not this one's
    await hold([other.seatIds[0]!], other.scheduleId);
    await expectSame();

    const held = (await hold([own.seatIds[0]!, own.seatIds[1]!], own.scheduleId)).body;
    await expectNew();

    await api.request('POST', `/orders/${held.id}/cancel`, {
      token: fan,
      body: { itemIds: [held.items[0].id] },
    });
    await expectNew();
    await api.request('POST', `/orders/${held.id}/cancel`, { token: fan });
    await expectNew();

    // a payment started moves held seats to pending payment: still unavailable, the same map
    const paying = (await hold([own.seatIds[2]!, own.seatIds[3]!], own.scheduleId)).body;
    await expectNew();
    const payment = (
      await api.request('POST', `/orders/${paying.id}/payments`, { token: fan, body: { provider: 'card' } })
    ).body;
    await expectSame();
    // time passes: the hold lapses without any write of the application
    await lapse(paying.id);
    await expectNew();
    // the money arrives late: the seats are still free, so they are booked for the payer
    await gatewaySays('payment.succeeded', payment);
    expect((await api.request('GET', `/orders/${paying.id}`, { token: fan })).body.status).toBe('paid');
    await expectNew();

    // a declined payment puts the seats back on sale
    const declined = (await hold([own.seatIds[4]!], own.scheduleId)).body;
    await expectNew();
    const attempt = (
      await api.request('POST', `/orders/${declined.id}/payments`, { token: fan, body: { provider: 'card' } })
    ).body;
    await expectSame();
    await gatewaySays('payment.failed', attempt);
    await expectNew();
    await expectSame();
  });

  it('answers 304 without a body when If-None-Match names the current ETag, and 200 once it is stale', async () => {
    const own = await createShow(api.sql, { rows: 1, seatsPerRow: 10 });
    const first = await statusOf(own.scheduleId);

    const current = await statusOf(own.scheduleId, { 'if-none-match': first.headers.etag! });
    await hold([own.seatIds[5]!], own.scheduleId);
    const stale = await statusOf(own.scheduleId, { 'if-none-match': first.headers.etag! });

    expect(first.headers['cache-control']).toMatch(/^public, /);
    expect([current.status, current.body, current.headers.etag]).toEqual([304, '', first.headers.etag]);
    expect(stale.status).toBe(200);
    expect(stale.headers.etag).not.toBe(first.headers.etag);
    expect(stale.body.availableCount).toBe(9);
  });

  it('answers 404 for an unknown schedule or one whose concert is hidden', async () => {
    const hidden = await createShow(api.sql, { rows: 1, seatsPerRow: 2 });
    await api.sql`update concerts set is_active = false where id = ${hidden.concertId}`;

    expect((await statusOf(999_999)).status).toBe(404);
    expect((await statusOf(hidden.scheduleId)).status).toBe(404);
  });
});

describe('GET /schedules/{scheduleId}/seats and /admin/schedules/{id}/seats in pages', () => {
  it('answers a small map whole, in layout order; `limit` and `cursor` walk it in pages', async () => {
    const show = await createShow(api.sql, { rows: 3, seatsPerRow: 5 });
    await hold([show.seatIds[6]!], show.scheduleId);

    const whole = await api.request('GET', `/schedules/${show.scheduleId}/seats`);
    const pages = [];
    let cursor: string | null = null;
    do {
      const query: string = `limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await api.request('GET', `/schedules/${show.scheduleId}/seats?${query}`);
      expect(page.status).toBe(200);
      pages.push(page.body);
      cursor = page.body.nextCursor;
    } while (cursor);
    const adminWhole = await api.request('GET', `/admin/schedules/${show.scheduleId}/seats`, {
      token: admin,
    });
    const adminPage = await api.request('GET', `/admin/schedules/${show.scheduleId}/seats?limit=10`, {
      token: admin,
    });
    const adminRest = await api.request(
      'GET',
      `/admin/schedules/${show.scheduleId}/seats?limit=10&cursor=${adminPage.body.nextCursor}`,
      { token: admin },
    );

    expect(whole.body.nextCursor).toBeNull();
    expect(whole.body.seats.map((s: { seatId: number }) => s.seatId)).toEqual(show.seatIds);
    expect(whole.body.seats[6]).toMatchObject({ seatId: show.seatIds[6], status: 'unavailable' });
    expect(pages.map((p) => p.seats.length)).toEqual([4, 4, 4, 3]);
    expect(pages.flatMap((p) => p.seats)).toEqual(whole.body.seats);
    expect(adminWhole.body.nextCursor).toBeNull();
    expect(adminWhole.body.seats[6]).toMatchObject({ seatId: show.seatIds[6], status: 'held' });
    expect([...adminPage.body.seats, ...adminRest.body.seats]).toEqual(adminWhole.body.seats);
    expect(adminRest.body.nextCursor).toBeNull();
    expect((await api.request('GET', `/schedules/${show.scheduleId}/seats?cursor=nope`)).status).toBe(400);
    expect((await api.request('GET', `/schedules/${show.scheduleId}/seats?limit=0`)).status).toBe(400);
  });
});

describe('sizes', () => {
  const routes = loadRoutes();
  /** One request through the local gateway, as API Gateway would pass it: the bytes on the wire. */
  async function raw(path: string, headers: Record<string, string> = {}) {
    const result: HttpResult = await dispatch(routes, {
      method: 'GET',
      url: path,
      headers,
      body: Buffer.alloc(0),
    });
    const body = result.isBase64Encoded
      ? Buffer.from(result.body ?? '', 'base64')
      : Buffer.from(result.body ?? '');
    const text =
      result.headers?.['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString();
    return {
      status: result.statusCode,
      bytes: body.length,
      // what Lambda returns to API Gateway: its 6 MB limit applies to this
      lambdaBytes: Buffer.byteLength(JSON.stringify(result)),
      gzipped: result.headers?.['content-encoding'] === 'gzip',
      etag: result.headers?.etag as string,
      json: text ? JSON.parse(text) : undefined,
    };
  }

  async function venueOf(seats: number) {
    // 10 sections of rows of 100 seats, as POST /admin/venues takes them
    const perSection = seats / 10 / 100;
    const venue = await api.request('POST', '/admin/venues', {
      token: admin,
      body: {
        name: `Arena ${seats}`,
        sections: Array.from({ length: 10 }, (_, s) => ({
          section: `Section ${s + 1}`,
          rows: Array.from({ length: perSection }, (_, r) => ({
            rowLabel: `Row ${r + 1}`,
            seats: 100,
            seatType: r < 5 ? 'vip' : 'standard',
            basePrice: r < 5 ? '250000.00' : '99000.00',
          })),
        })),
      },
    });
    expect(venue.body.seatCount).toBe(seats);
    const concert = await api.request('POST', '/admin/concerts', {
      token: admin,
      body: { title: `Stadium ${seats}`, artist: 'Big Band' },
    });
    const start = new Date(Date.now() + 14 * 86_400_000);
    const schedule = await api.request('POST', '/admin/schedules', {
      token: admin,
      body: {
        concertId: concert.body.id,
        venueId: venue.body.id,
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + 3 * 3600_000).toISOString(),
      },
    });
    expect(schedule.status).toBe(201);
    return { venueId: venue.body.id as number, scheduleId: schedule.body.id as number };
  }

  it('sends the status of 50,000 seats in at most 16 KB', async () => {
    const { scheduleId } = await venueOf(50_000);

    const res = await raw(`/schedules/${scheduleId}/seat-status`);

    expect(res.status).toBe(200);
    expect(res.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(res.json.seatCount).toBe(50_000);
  }, 120_000);

  it('keeps every response for a 100,000-seat venue under 5 MB, gzip or not, and the pages add up to every seat', async () => {
    const { venueId, scheduleId } = await venueOf(100_000);
    // taken seats carry an order id and a deadline in the admin map: the largest rows
    const [someSeats] = await api.sql<{ ids: number[] }[]>`
      select array_agg(seat_id order by seat_id) as ids from schedule_seats where schedule_id = ${scheduleId}`;
    for (let i = 0; i < 5; i++) await hold(someSeats!.ids.slice(i * 8, i * 8 + 8), scheduleId);
    const FIVE_MB = 5 * 1024 * 1024;
    const sizes: Record<string, number> = {};

    for (const encoding of ['identity', 'gzip']) {
      const headers = { 'accept-encoding': encoding };
      const check = (name: string, res: Awaited<ReturnType<typeof raw>>) => {
        expect(res.status, name).toBe(200);
        expect(res.bytes, name).toBeLessThanOrEqual(FIVE_MB);
        expect(res.lambdaBytes, name).toBeLessThanOrEqual(6 * 1024 * 1024);
        if (encoding === 'identity') expect(res.gzipped, name).toBe(false);
        sizes[`${name} ${encoding}`] = Math.max(sizes[`${name} ${encoding}`] ?? 0, res.bytes);
      };
      const layout = await raw(`/venues/${venueId}/layout`, headers);
      check('layout', layout);
      expect(layout.json.seatCount).toBe(100_000);
      // a gzipped body is its own representation, with its own strong tag, and revalidates as well
      expect(layout.etag.endsWith('-gzip"')).toBe(encoding === 'gzip');
      const revalidated = await raw(`/venues/${venueId}/layout`, {
        ...headers,
        'if-none-match': layout.etag,
      });
      expect([revalidated.status, revalidated.etag]).toEqual([304, layout.etag]);
      const status = await raw(`/schedules/${scheduleId}/seat-status`, headers);
      check('status', status);
      expect(decodeStatus(status.json).filter((free) => !free)).toHaveLength(40);

      for (const [name, path, auth] of [
        ['seats', `/schedules/${scheduleId}/seats`, {}],
        ['admin seats', `/admin/schedules/${scheduleId}/seats`, { authorization: `Bearer ${admin}` }],
      ] as const) {
        const seen: number[] = [];
        let cursor: string | null = null;
        do {
          const page = await raw(`${path}${cursor ? `?cursor=${cursor}` : ''}`, { ...headers, ...auth });
          check(name, page);
          seen.push(...page.json.seats.map((s: { seatId: number }) => s.seatId));
          cursor = page.json.nextCursor;
        } while (cursor);
        expect(seen, name).toEqual(layoutSeats(layout.json).map((s) => s.seatId));
      }
    }
    // the sizes, for the record when the test is run by hand
    console.info('100,000 seats, largest response bytes', sizes);
  }, 300_000);
});
