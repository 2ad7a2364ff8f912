import autocannon from 'autocannon';
import type { Sql } from '../db/client';
import { hotBlockOf, newSchedule } from './data';
import { doubleBookings, log, round, SIZE, startServer } from './harness';
import { rushStrategy, SEATS_PER_HOLD } from './rush';
import { SeatPicker } from './seat-picker';
import { strategies } from './strategies';

/**
 * `npm run bench -- api`: the rush through the local gateway with autocannon, then the project's
 * hold path straight from postgres.js at the same concurrency (`raw…`), to see what HTTP costs.
 */
export async function apiRush(url: string, admin: Sql) {
  log('api rush');
  const { scheduleId } = await newSchedule(admin, SIZE.rushSeats);
  const hot = await hotBlockOf(admin, scheduleId, SIZE.hotBlock);
  const { base, child } = await startServer(url);
  try {
    const tokens = await Promise.all(
      Array.from({ length: SIZE.apiConnections }, async (_, i) => {
        const res = await fetch(`${base}/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sub: `api-rush-${i}` }),
        });
        return ((await res.json()) as { token: string }).token;
      }),
    );
    // the server's connections opened and warm, as the raw run's are (rush.ts says why)
    const warm = await newSchedule(admin, SIZE.rushSeats);
    const warmSeats = await hotBlockOf(admin, warm.scheduleId, SEATS_PER_HOLD * tokens.length);
    await Promise.all(
      tokens.map((token, i) =>
        fetch(`${base}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            scheduleId: warm.scheduleId,
            seatIds: warmSeats.slice(SEATS_PER_HOLD * i, SEATS_PER_HOLD * (i + 1)),
          }),
        }).then((res) => res.text()),
      ),
    );
    const free = new SeatPicker(hot);
    let holds = 0;
    const instance = autocannon({
      url: base,
      connections: SIZE.apiConnections,
      duration: SIZE.seconds,
      requests: [
        {
          method: 'POST',
          path: '/orders',
          setupRequest: (request: Record<string, unknown>, context: Record<string, unknown>) => {
            const seatIds = free.pick(SEATS_PER_HOLD);
            context.seats = seatIds;
            return {
              ...request,
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}`,
              },
              body: JSON.stringify({ scheduleId, seatIds }),
            };
          },
          onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
            if (status !== 201) return;
            holds++;
            free.strikeOff(context.seats as number[]);
            if (free.count < SEATS_PER_HOLD) (instance as unknown as { stop(): void }).stop();
          },
        },
      ],
    } as never);
    const result = (await instance) as autocannon.Result;
    const seconds = result.duration;
    const errors5xx = result['5xx'];
    const raw = await rushStrategy(url, admin, 'raw', strategies.project, SIZE.apiConnections);
    return {
      holdsPerSec: round(holds / seconds),
      p99Ms: result.latency.p99,
      p50Ms: result.latency.p50,
      errors5xx,
      requests: result.requests.total,
      rawHoldsPerSec: raw.holdsPerSec,
      rawP99Ms: raw.p99Ms,
      doubleBookings: await doubleBookings(admin, scheduleId),
    };
  } finally {
    child.kill('SIGTERM');
  }
}
