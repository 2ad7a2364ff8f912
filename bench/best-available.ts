import { createSql, type Sql } from '../db/client';
import { placeBestAvailable } from '../domain/best-available';
import { hotBlockOf, newSchedule, users } from './data';
import { doubleBookings, LIMITS, log, SIZE, singleSeats } from './harness';
import { rush, SEATS_PER_HOLD } from './rush';

/**
 * `npm run bench -- best-available`: the same rush, asking for "2 best seats" in the hot section
 * instead of 2 random ones (the seats the rush picks are not used: the service chooses).
 */
export async function bestAvailableRush(url: string, admin: Sql) {
  log('rush: best available (quantity 2)');
  const { scheduleId } = await newSchedule(admin, SIZE.rushSeats);
  const hot = await hotBlockOf(admin, scheduleId, SIZE.hotBlock);
  const [first] = await admin<{ section: string }[]>`select section from seats where id = ${hot[0]!}`;
  const warm = await newSchedule(admin, SIZE.rushSeats);
  const ids = await users(admin, SIZE.clients, 'best');
  const pool = createSql({ url, max: SIZE.clients, connectTimeoutSeconds: 60 });
  const pick = (client: number, schedule: number) =>
    placeBestAvailable(
      pool,
      ids[client]!,
      { scheduleId: schedule, quantity: SEATS_PER_HOLD, section: first!.section },
      LIMITS,
    );
  try {
    const result = await rush({
      clients: SIZE.clients,
      seconds: SIZE.seconds,
      hot,
      warmUp: (client) => pick(client, warm.scheduleId),
      attempt: async (client) => {
        try {
          const placed = await pick(client, scheduleId);
          return placed.order.items.map((i) => i.seatId);
        } catch (error) {
          if ((error as { code?: string }).code === 'SOLD_OUT') return 'conflict';
          throw error;
        }
      },
    });
    return {
      ...result,
      doubleBookings: await doubleBookings(admin, scheduleId),
      ...(await singleSeats(admin, scheduleId)),
    };
  } finally {
    await pool.end();
  }
}
