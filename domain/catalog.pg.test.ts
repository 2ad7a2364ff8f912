import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../test/api';

let api: TestApi;
let admin: string;

beforeAll(async () => {
  api = await createTestApi();
  admin = await api.adminToken();
});
afterAll(() => api.close());

const post = (path: string, body: unknown) => api.request('POST', path, { token: admin, body });

async function venue(sections: unknown[]) {
  const res = await post('/admin/venues', { name: 'Hall', address: 'Seoul', sections });
  expect(res.status).toBe(201);
  return res.body;
}

describe('admin catalog', () => {
  it('creates and updates a concert, and hides it from the public when inactive', async () => {
    const created = await post('/admin/concerts', {
      title: 'Live',
      artist: 'Band',
      genre: 'pop',
      runtimeMinutes: 90,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      title: 'Live',
      artist: 'Band',
      genre: 'pop',
      runtimeMinutes: 90,
      isActive: true,
    });

    const updated = await api.request('PATCH', `/admin/concerts/${created.body.id}`, {
      token: admin,
      body: { isActive: false, title: 'Live!' },
    });
    expect(updated.body).toMatchObject({ title: 'Live!', isActive: false });
    expect((await api.request('GET', `/concerts/${created.body.id}`)).status).toBe(404);
    expect(
      (await api.request('PATCH', '/admin/concerts/999999', { token: admin, body: { title: 'x' } })).status,
    ).toBe(404);
    expect(
      (await api.request('PATCH', `/admin/concerts/${created.body.id}`, { token: admin, body: {} })).status,
    ).toBe(400);
  });

  it('creates a 50,000-seat venue in one call', async () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({
      rowLabel: `R${i + 1}`,
      seats: 100,
      seatType: i < 10 ? 'vip' : 'std',
      basePrice: i < 10 ? '200000' : 90000,
    }));
    const created = await venue([
      { section: 'North', rows },
      { section: 'South', rows },
      { section: 'East', rows },
      { section: 'West', rows },
      { section: 'Floor', rows },
    ]);
    expect(created.seatCount).toBe(50_000);
    const [row] =
      await api.sql`select count(*)::int as n, count(distinct rank)::int as ranks from seats where venue_id = ${created.id}`;
    expect(row!.n).toBe(50_000);
  });

  it('ranks seats best first: earlier rows, then nearer the centre', async () => {
    const created = await venue([
      {
        section: 'A',
        rows: [
          { rowLabel: '1', seats: 5, seatType: 's', basePrice: 1 },
          { rowLabel: '2', seats: 5, seatType: 's', basePrice: 1 },
        ],
      },
    ]);
    const seats =
      await api.sql`select row_label, number from seats where venue_id = ${created.id} order by rank, row_label, number limit 4`;
    expect(seats.map((s) => `${s.row_label}-${s.number}`)).toEqual(['1-3', '1-2', '1-4', '1-1']);
  });

  it('refuses duplicate rows and seat counts out of range', async () => {
    const dup = await post('/admin/venues', {
      name: 'x',
      sections: [
        {
          section: 'A',
          rows: [
            { rowLabel: '1', seats: 1, seatType: 's', basePrice: 1 },
            { rowLabel: '1', seats: 1, seatType: 's', basePrice: 1 },
          ],
        },
      ],
    });
    const zero = await post('/admin/venues', {
      name: 'x',
      sections: [{ section: 'A', rows: [{ rowLabel: '1', seats: 0, seatType: 's', basePrice: 1 }] }],
    });
    const money = await post('/admin/venues', {
      name: 'x',
      sections: [{ section: 'A', rows: [{ rowLabel: '1', seats: 1, seatType: 's', basePrice: -1 }] }],
    });
    expect([dup.status, zero.status, money.status]).toEqual([400, 400, 400]);
  });

  it('creates a schedule whose seats take prices[seatType] or the base price', async () => {
    const concert = (await post('/admin/concerts', { title: 'Priced', artist: 'Band' })).body;
    const v = await venue([
      {
        section: 'A',
        rows: [
          { rowLabel: '1', seats: 2, seatType: 'vip', basePrice: 100 },
          { rowLabel: '2', seats: 2, seatType: 'std', basePrice: 50 },
        ],
      },
    ]);
    const start = new Date(Date.now() + 86_400_000);
    const body = {
      concertId: concert.id,
      venueId: v.id,
      startAt: start.toISOString(),
      endAt: new Date(start.getTime() + 3600_000).toISOString(),
      prices: { vip: '150.50' },
    };

    const created = await post('/admin/schedules', body);
    const unknownType = await post('/admin/schedules', { ...body, prices: { gold: 1 } });
    const backwards = await post('/admin/schedules', { ...body, endAt: body.startAt });
    const missingVenue = await post('/admin/schedules', { ...body, venueId: 999999 });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'sales_open', seatCount: 4 });
    const prices = (await api.request('GET', `/schedules/${created.body.id}/seats`)).body.seats.map(
      (s: { price: string }) => s.price,
    );
    expect(prices).toEqual(['150.50', '150.50', '50.00', '50.00']);
    expect([unknownType.status, backwards.status, missingVenue.status]).toEqual([400, 400, 404]);
  });

  it('takes ordinary decimal prices such as "19.99" exactly as sent', async () => {
    const concert = (await post('/admin/concerts', { title: 'Cents', artist: 'Band' })).body;
    const v = await venue([
      {
        section: 'A',
        rows: [
          { rowLabel: '1', seats: 1, seatType: 'std', basePrice: '19.99' },
          { rowLabel: '2', seats: 1, seatType: 'vip', basePrice: 0.29 },
          { rowLabel: '3', seats: 1, seatType: 'box', basePrice: 5 },
        ],
      },
    ]);
    const start = new Date(Date.now() + 86_400_000);
    const created = await post('/admin/schedules', {
      concertId: concert.id,
      venueId: v.id,
      startAt: start.toISOString(),
      endAt: new Date(start.getTime() + 3600_000).toISOString(),
      prices: { box: 1.1 },
    });

    expect(created.status).toBe(201);
    const prices = (await api.request('GET', `/schedules/${created.body.id}/seats`)).body.seats.map(
      (s: { price: string }) => s.price,
    );
    expect(prices).toEqual(['19.99', '0.29', '1.10']);
  });
});

describe('public browse', () => {
  it('filters concerts by genre, artist and text, with cursor pagination', async () => {
    for (const [title, artist, genre] of [
      ['Rock One', 'Alpha', 'rock'],
      ['Rock Two', 'Beta', 'rock'],
      ['Jazz 100%', 'Alpha', 'jazz'],
    ]) {
      await post('/admin/concerts', { title, artist, genre });
    }
    const rock = await api.request('GET', '/concerts?genre=rock&limit=1');
    const rock2 = await api.request('GET', `/concerts?genre=rock&limit=1&cursor=${rock.body.nextCursor}`);
    const alpha = await api.request('GET', '/concerts?artist=Alpha');
    const search = await api.request('GET', '/concerts?q=100%25');
    const emptyFilters = await api.request('GET', '/concerts?genre=&artist=&q=&limit=100');
    expect(emptyFilters.status).toBe(200);
    expect(emptyFilters.body.items.length).toBeGreaterThanOrEqual(3);

    expect(rock.body.items.map((c: { title: string }) => c.title)).toEqual(['Rock One']);
    expect(rock2.body).toMatchObject({ items: [{ title: 'Rock Two' }], nextCursor: null });
    expect(alpha.body.items.map((c: { title: string }) => c.title)).toEqual(['Rock One', 'Jazz 100%']);
    expect(search.body.items.map((c: { title: string }) => c.title)).toEqual(['Jazz 100%']);
    expect(Object.keys(rock.body.items[0]).sort()).toEqual([
      'artist',
      'description',
      'genre',
      'id',
      'runtimeMinutes',
      'title',
    ]);
  });

  it('shows a concert with its schedules, a schedule, and availability by section', async () => {
    const concert = (await post('/admin/concerts', { title: 'Browse', artist: 'Band' })).body;
    const v = await venue([
      { section: 'A', rows: [{ rowLabel: '1', seats: 3, seatType: 'vip', basePrice: 100 }] },
      { section: 'B', rows: [{ rowLabel: '1', seats: 2, seatType: 'std', basePrice: 50 }] },
    ]);
    const start = new Date(Date.now() + 86_400_000);
    const schedule = (
      await post('/admin/schedules', {
        concertId: concert.id,
        venueId: v.id,
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + 3600_000).toISOString(),
      })
    ).body;
    const seatIds = (await api.request('GET', `/schedules/${schedule.id}/seats`)).body.seats.map(
      (s: { seatId: number }) => s.seatId,
    );
    await api.request('POST', '/orders', {
      token: await api.token('browser'),
      body: { scheduleId: schedule.id, seatIds: [seatIds[0]] },
    });

    const detail = await api.request('GET', `/concerts/${concert.id}`);
    const one = await api.request('GET', `/schedules/${schedule.id}`);
    const availability = await api.request('GET', `/schedules/${schedule.id}/availability`);

    expect(detail.body.schedules).toEqual([
      {
        id: schedule.id,
        venue: { id: v.id, name: 'Hall' },
        startAt: start.toISOString(),
        endAt: expect.any(String),
        status: 'sales_open',
      },
    ]);
    expect(one.body).toMatchObject({
      id: schedule.id,
      concert: { id: concert.id, title: 'Browse' },
      venue: { id: v.id, name: 'Hall' },
      status: 'sales_open',
    });
    expect(availability.body).toEqual({
      total: 5,
      available: 4,
      sections: [
        { section: 'A', seatType: 'vip', total: 3, available: 2, minPrice: '100.00' },
        { section: 'B', seatType: 'std', total: 2, available: 2, minPrice: '50.00' },
      ],
    });
  });
});

describe('reports', () => {
  it('reports seats by status, revenue and paid orders, and sales by genre and artist', async () => {
    const concert = (await post('/admin/concerts', { title: 'Report', artist: 'Reporter', genre: 'indie' }))
      .body;
    const v = await venue([
      { section: 'A', rows: [{ rowLabel: '1', seats: 6, seatType: 's', basePrice: 1000 }] },
    ]);
    const start = new Date(Date.now() + 86_400_000);
    const schedule = (
      await post('/admin/schedules', {
        concertId: concert.id,
        venueId: v.id,
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + 3600_000).toISOString(),
      })
    ).body;
    const seats = (await api.request('GET', `/schedules/${schedule.id}/seats`)).body.seats.map(
      (s: { seatId: number }) => s.seatId,
    );
    const buyer = await api.token('report-buyer');
    const paid = await api.request('POST', '/orders', {
      token: buyer,
      body: { scheduleId: schedule.id, seatIds: seats.slice(0, 2) },
    });
    const payment = await api.request('POST', `/orders/${paid.body.id}/payments`, {
      token: buyer,
      body: { provider: 'card' },
    });
    await api.webhook('card', {
      eventId: 'rep-1',
      type: 'payment.succeeded',
      paymentId: payment.body.id,
      pgTid: 't',
      amount: '2000.00',
      occurredAt: new Date().toISOString(),
    });
    await api.queue.drain();
    const pending = await api.request('POST', '/orders', {
      token: buyer,
      body: { scheduleId: schedule.id, seatIds: [seats[2]] },
    });
    await api.request('POST', `/orders/${pending.body.id}/payments`, {
      token: buyer,
      body: { provider: 'card' },
    });
    const held = await api.request('POST', '/orders', {
      token: buyer,
      body: { scheduleId: schedule.id, seatIds: [seats[3]] },
    });

    const report = await api.request('GET', `/admin/reports/schedules/${schedule.id}`, { token: admin });
    const byGenre = await api.request('GET', '/admin/reports/sales?groupBy=genre', { token: admin });
    const byArtist = await api.request(
      'GET',
      `/admin/reports/sales?groupBy=artist&from=${encodeURIComponent(new Date().toISOString())}`,
      { token: admin },
    );
    const none = await api.request(
      'GET',
      `/admin/reports/sales?groupBy=artist&to=${encodeURIComponent(new Date().toISOString())}`,
      { token: admin },
    );
    const seatMap = await api.request('GET', `/admin/schedules/${schedule.id}/seats`, { token: admin });

    expect(report.body).toEqual({
      scheduleId: schedule.id,
      seats: { total: 6, available: 2, held: 1, pendingPayment: 1, booked: 2 },
      revenue: '2000.00',
      paidOrders: 1,
    });
    expect(byGenre.body).toContainEqual({ key: 'indie', ticketsSold: 2, revenue: '2000.00' });
    expect(byArtist.body).toContainEqual({ key: 'Reporter', ticketsSold: 2, revenue: '2000.00' });
    expect(none.body.find((r: { key: string }) => r.key === 'Reporter')).toBeUndefined();
    const bySeat = new Map(seatMap.body.seats.map((s: { seatId: number }) => [s.seatId, s]));
    expect(bySeat.get(seats[0])).toMatchObject({ status: 'booked', orderId: paid.body.id });
    expect(bySeat.get(seats[3])).toMatchObject({ status: 'held', orderId: held.body.id });
    expect(bySeat.get(seats[5])).toMatchObject({ status: 'available', orderId: null });
    expect((await api.request('GET', '/admin/reports/schedules/999999', { token: admin })).status).toBe(404);
  });
});
