import { gzipSync } from 'node:zlib';
import { createSql, type Sql } from '../db/client';
import { seedLargeSchedule } from './data';
import { log, median, round, SIZE, startServer } from './harness';

/**
 * `npm run bench -- seat-map`: `GET /schedules/{id}/seats` of a large schedule through the local
 * server vs the raw `select` of the same rows; medians of 5 after 2 warm-ups.
 */
export async function seatMap(url: string, admin: Sql) {
  log('seat map');
  const { scheduleId } = await seedLargeSchedule(admin, { seats: SIZE.seatMapSeats, schedules: 1 });
  const { base, child } = await startServer(url);
  const raw = createSql({ url, max: 1 });
  try {
    const api: number[] = [];
    const rawMs: number[] = [];
    let bytes = 0;
    let gzipBytes = 0;
    for (let i = 0; i < 7; i++) {
      let t = performance.now();
      const res = await fetch(`${base}/schedules/${scheduleId}/seats`, {
        headers: { 'accept-encoding': 'identity' },
      });
      bytes = (await res.arrayBuffer()).byteLength;
      api.push(performance.now() - t);
      t = performance.now();
      await raw`
        select ss.seat_id, seat.section, seat.row_label, seat.number, seat.seat_type, ss.price, ss.status
        from schedule_seats ss join seats seat on seat.id = ss.seat_id where ss.schedule_id = ${scheduleId}`;
      rawMs.push(performance.now() - t);
    }
    // what the API sends a client that accepts gzip (fetch itself would transparently decompress)
    const body = await (
      await fetch(`${base}/schedules/${scheduleId}/seats`, { headers: { 'accept-encoding': 'identity' } })
    ).arrayBuffer();
    gzipBytes = gzipSync(Buffer.from(body), { level: 1 }).length;
    return {
      seats: SIZE.seatMapSeats,
      apiMs: round(median(api.slice(2))),
      rawMs: round(median(rawMs.slice(2))),
      bytes,
      gzipBytes,
    };
  } finally {
    child.kill('SIGTERM');
    await raw.end();
  }
}
