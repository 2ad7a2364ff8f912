import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { createSql, type Sql } from '../db/client';
import { seedLargeSchedule } from './data';
import { log, median, round, SIZE, startServer } from './harness';

/**
 * `npm run bench -- seat-map`: a 50,000-seat schedule, half of it sold at random.
 *
 * `seatMap`: `GET /schedules/{id}/seats` through the local server, every page of it, vs the raw
 * `select` of the same rows; medians of 5 after 2 warm-ups.
 *
 * `seatStatus`: what drawing and polling cost — the bytes of the whole seat map, the layout and the
 * seat status, and with autocannon (a small crowd: the machine has 2 cores) the time per whole map
 * vs per seat-status poll answered 304.
 */
export async function seatMap(url: string, admin: Sql) {
  log('seat map');
  const { scheduleId, venueId } = await seedLargeSchedule(admin, { seats: SIZE.seatMapSeats, schedules: 1 });
  await sellHalf(admin, scheduleId);
  const { base, child } = await startServer(url);
  const raw = createSql({ url, max: 1 });
  try {
    const pages = await pagesOf(`${base}/schedules/${scheduleId}/seats`);
    const api: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      for (const page of pages)
        await (await fetch(page, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer();
      api.push(performance.now() - t);
      t = performance.now();
      await raw`
        select ss.seat_id, seat.section, seat.row_label, seat.number, seat.seat_type, ss.price, ss.status
        from schedule_seats ss join seats seat on seat.id = ss.seat_id where ss.schedule_id = ${scheduleId}`;
      rawMs.push(performance.now() - t);
    }
    const map = await bytesOf(pages);
    const seatMapResult = {
      seats: SIZE.seatMapSeats,
      pages: pages.length,
      apiMs: round(median(api.slice(2))),
      rawMs: round(median(rawMs.slice(2))),
      bytes: map.bytes,
      // what the API sends a client that accepts gzip (fetch itself would transparently decompress)
      gzipBytes: map.gzipBytes,
    };
    return { seatMap: seatMapResult, seatStatus: await polling(base, scheduleId, venueId, pages, map) };
  } finally {
    child.kill('SIGTERM');
    await raw.end();
  }
}

/** Books a random half of the seats (one order): a seat status that gzip cannot shrink to nothing. */
export async function sellHalf(sql: Sql, scheduleId: number) {
  const [user] = await sql<{ id: number }[]>`insert into users (sub) values ('bench-seat-map') returning id`;
  const [order] = await sql<{ id: number }[]>`
    insert into orders (user_id, schedule_id, total_amount, status)
    values (${user!.id}, ${scheduleId}, 0, 'paid') returning id`;
  await sql`
    update schedule_seats set status = 'booked', order_id = ${order!.id}
    where schedule_id = ${scheduleId} and random() < 0.5`;
}

/** The URLs of every page of a seat map, by following `nextCursor`. */
async function pagesOf(first: string): Promise<string[]> {
  const pages = [first];
  for (;;) {
    const res = await fetch(pages.at(-1)!);
    const { nextCursor } = (await res.json()) as { nextCursor: string | null };
    if (!nextCursor) return pages;
    pages.push(`${first}?cursor=${nextCursor}`);
  }
}

/** The bytes of the responses, as sent plain and as the API gzips them (level 1, as compression.ts). */
async function bytesOf(urls: string[]) {
  let bytes = 0;
  let gzipBytes = 0;
  for (const url of urls) {
    const body = Buffer.from(
      await (await fetch(url, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer(),
    );
    bytes += body.length;
    // bodies under 16 KB go out plain
    gzipBytes += body.length < 16 * 1024 ? body.length : gzipSync(body, { level: 1 }).length;
  }
  return { bytes, gzipBytes };
}

async function crowd(base: string, paths: string[], headers: Record<string, string>) {
  const result = (await autocannon({
    url: base,
    connections: 4,
    duration: Math.max(2, SIZE.seconds / 2),
    requests: paths.map((path) => ({ method: 'GET', path, headers })),
  } as never)) as autocannon.Result;
  return result;
}

async function polling(
  base: string,
  scheduleId: number,
  venueId: number,
  mapPages: string[],
  map: { bytes: number; gzipBytes: number },
) {
  log('seat status');
  const statusUrl = `${base}/schedules/${scheduleId}/seat-status`;
  const layout = await bytesOf([`${base}/venues/${venueId}/layout`]);
  const status = await bytesOf([statusUrl]);
  const etag = (await fetch(statusUrl)).headers.get('etag')!;
  const gzip = { 'accept-encoding': 'gzip' };

  // a whole map is its pages one after another: each connection asks for them in turn
  const maps = await crowd(
    base,
    mapPages.map((u) => new URL(u).pathname + new URL(u).search),
    gzip,
  );
  const full = await crowd(base, [new URL(statusUrl).pathname], gzip);
  const polls = await crowd(base, [new URL(statusUrl).pathname], { ...gzip, 'if-none-match': etag });
  const msPerMap = maps.latency.mean * mapPages.length;
  return {
    seats: SIZE.seatMapSeats,
    mapBytes: map.bytes,
    mapGzipBytes: map.gzipBytes,
    layoutBytes: layout.bytes,
    layoutGzipBytes: layout.gzipBytes,
    statusBytes: status.bytes,
    statusGzipBytes: status.gzipBytes,
    connections: 4,
    msPerMap: round(msPerMap),
    mapsPerSec: round(maps.requests.average / mapPages.length),
    msPerStatus: round(full.latency.mean),
    statusPerSec: round(full.requests.average),
    msPerPoll304: round(polls.latency.mean),
    pollsPerSec: round(polls.requests.average),
    // every poll must have been a 304: the ETag held while nothing changed
    polls304: polls['3xx'],
    pollsOther: polls.requests.total - polls['3xx'],
    pollVsMap: round(msPerMap / polls.latency.mean),
    errors: maps.errors + full.errors + polls.errors + maps['5xx'] + full['5xx'] + polls['5xx'],
  };
}
