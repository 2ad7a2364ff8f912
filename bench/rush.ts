import { createSql, type Sql } from '../db/client';
import { hotBlockOf, newSchedule, users } from './data';
import { doubleBookings, log, percentile, round, SIZE } from './harness';
import { SeatPicker } from './seat-picker';
import { type HoldStrategy, strategies } from './strategies';

export interface RushResult {
  holdsPerSec: number;
  attemptsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  doubleBookings: number;
  holds: number;
  attempts: number;
  seconds: number;
  conflictRate: number;
  sampleError?: string;
}

/** Seats a fan asks for in one hold. */
export const SEATS_PER_HOLD = 2;

/**
 * `clients` loops, each repeatedly asking for 2 random seats of the hot block that it believes
 * free (fans see a slightly stale map), until the block is sold or time is up. An attempt that
 * holds other seats than the ones picked (best available) returns the seats it held.
 */
export async function rush(options: {
  clients: number;
  seconds: number;
  hot: number[];
  attempt: (client: number, seatIds: number[]) => Promise<'ok' | 'conflict' | number[]>;
  /** One untimed hold per client on another schedule, all at once: every connection opened and warm. */
  warmUp: (client: number) => Promise<unknown>;
  /**
   * Seats are struck off when a fan picks them, not when they are held: no two fans ever ask for
   * the same seat, so every attempt holds — the most holds/s a hold of 2 seats can give here.
   */
  uncontended?: boolean;
}): Promise<Omit<RushResult, 'doubleBookings'>> {
  // A connection's first hold loads the catalogue and plans every statement (55–115 ms for a best-
  // available pick here against 3 ms warm): the rush meets a database whose connections have served
  // before, as RDS Proxy's have, and each strategy gets the same start.
  let coldErrors = 0;
  let coldError = '';
  await Promise.all(
    Array.from({ length: options.clients }, (_, client) =>
      options.warmUp(client).catch((error: Error) => {
        coldErrors++;
        coldError ||= error.message;
      }),
    ),
  );
  if (coldErrors)
    log(
      `warm-up: ${coldErrors} of ${options.clients} first holds failed (untimed, not counted): ${coldError}`,
    );
  const free = new SeatPicker(options.hot);
  const latencies: number[] = [];
  let holds = 0;
  let errors = 0;
  let sampleError: string | undefined;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      while (performance.now() < deadline && free.count >= SEATS_PER_HOLD) {
        const seatIds = free.pick(SEATS_PER_HOLD);
        if (options.uncontended) free.strikeOff(seatIds);
        const t = performance.now();
        try {
          const outcome = await options.attempt(client, seatIds);
          if (outcome !== 'conflict') {
            holds++;
            free.strikeOff(Array.isArray(outcome) ? outcome : seatIds);
          }
        } catch (error) {
          errors++;
          sampleError ??= String((error as Error).message ?? error);
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    holdsPerSec: round(holds / seconds),
    attemptsPerSec: round(latencies.length / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    errors,
    holds,
    attempts: latencies.length,
    seconds: round(seconds, 2),
    conflictRate: round(latencies.length ? (latencies.length - holds - errors) / latencies.length : 0, 3),
    sampleError,
  };
}

/** The rush on a fresh schedule, each client holding with `strategy` on its own connection. */
export async function rushStrategy(
  url: string,
  admin: Sql,
  name: string,
  strategy: HoldStrategy,
  clients = SIZE.clients,
  uncontended = false,
): Promise<RushResult> {
  const { scheduleId } = await newSchedule(admin, SIZE.rushSeats);
  const hot = await hotBlockOf(admin, scheduleId, SIZE.hotBlock);
  const warm = await newSchedule(admin, SIZE.rushSeats);
  const warmSeats = await hotBlockOf(admin, warm.scheduleId, 2 * clients);
  const ids = await users(admin, clients, `rush-${name}`);
  const pool = createSql({ url, max: clients, connectTimeoutSeconds: 60 });
  try {
    const result = await rush({
      clients,
      seconds: SIZE.seconds,
      hot,
      uncontended,
      attempt: (client, seatIds) => strategy(pool, { userId: ids[client]!, scheduleId, seatIds }),
      warmUp: (client) =>
        strategy(pool, {
          userId: ids[client]!,
          scheduleId: warm.scheduleId,
          seatIds: warmSeats.slice(2 * client, 2 * client + 2),
        }),
    });
    return { ...result, doubleBookings: await doubleBookings(admin, scheduleId) };
  } finally {
    await pool.end();
  }
}

/**
 * `npm run bench -- rush`: every strategy of strategies.ts, one after the other; then the service's
 * own path again with no two fans asking for the same seat (`projectUncontended`): the ceiling of
 * any way of holding 2 seats that does a hold's work — best available's included.
 */
export async function rushStrategies(url: string, admin: Sql): Promise<Record<string, RushResult>> {
  const results: Record<string, RushResult> = {};
  for (const [name, strategy] of Object.entries(strategies)) {
    log(`rush: ${name}`);
    results[name] = await rushStrategy(url, admin, name, strategy);
  }
  log('rush: project, uncontended');
  results.projectUncontended = await rushStrategy(
    url,
    admin,
    'uncontended',
    strategies.project,
    SIZE.clients,
    true,
  );
  return results;
}
