import { monitorEventLoopDelay } from 'node:perf_hooks';
import { inTx, type Sql } from '../db/client';
import { createConcert, createSchedule, createVenue } from '../domain/catalog';
import { advanceWaitingRooms, configureWaitingRoom } from '../domain/waiting-room';
import { freePort } from '../local/embedded-postgres';
import { doubleBookings, log, percentile, QUICK, round, SIZE, singleSeats, startServer } from './harness';

/**
 * `npm run bench -- onSale`: a crowd of fans at an on-sale through the local gateway (real
 * sockets), first with the waiting room on, then the same crowd on a fresh performance with it off.
 *
 * The crowd is 20,000 fans joining within 10 s and polling every 2 s; this machine (2 cores
 * for the database, the API and the crowd together) runs a tenth of it — SIZE.onSaleFans — with the
 * same ratios: arrivals spread over 10 s, polls every 2 s, seats for a quarter of the crowd (2 each).
 * The room's rate is set from a quick calibration: the best-available ×2 holds/s of a few
 * connections through the same gateway, × 60 ÷ 2 (the README's on-sale checklist: headroom).
 *
 * Room on: each fan joins and polls (at once, then every 2 s) at the room's own server process
 * until admitted (or told it is sold out), asks the shop for 2 best seats with its admission token
 * and pays by card at the built-in simulator's checkout form (whose signed webhook the API
 * processes). The advancer runs every second here (it may run more often
 * than once a minute without changing the rate: it only sees a sell-out sooner).
 * Room off: each fan asks for 2 best seats when it arrives and pays; SOLD_OUT ends a fan's try.
 */

const JOIN_SECONDS = QUICK ? 1 : 10;
const POLL_SECONDS = QUICK ? 0.5 : 2;
const REQUEST_TIMEOUT_MS = 10_000;
/** A fan still waiting this long after the start gives up (a stalled room must not hang the bench). */
const GIVE_UP_SECONDS = QUICK ? 12 : 180;
const SEATS_PER_FAN = 2;

interface Http {
  /** The shop: orders and payments. */
  base: string;
  /** The waiting room's routes (join, poll), in a process of their own: see `onSale`. */
  room: string;
  sim: string;
  tokens: string[];
  /**
   * The same fans' tokens from the room's process: each local process is its own identity provider
   * (a key made at start), and a fan is its subject, so an admission the room gives is the fan's at
   * the shop too.
   */
  roomTokens: string[];
}

interface Tally {
  joinMs: number[];
  pollMs: number[];
  holdMs: number[];
  errors5xx: number;
  timeouts: number;
  holds: number;
  soldOutAnswers: number;
  gaveUp: number;
  paid: number;
  lastHoldAt: number;
  sampleError?: string;
}

const newTally = (): Tally => ({
  joinMs: [],
  pollMs: [],
  holdMs: [],
  errors5xx: 0,
  timeouts: 0,
  holds: 0,
  soldOutAnswers: 0,
  gaveUp: 0,
  paid: 0,
  lastHoldAt: 0,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request, timed; 5xx and timeouts counted in the tally. Undefined: the fan got no answer. */
async function call(
  tally: Tally,
  url: string,
  init: RequestInit,
  latencies?: number[],
): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  const t = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    latencies?.push(performance.now() - t);
    if (res.status >= 500) {
      tally.errors5xx++;
      tally.sampleError ??= `${res.status} ${text.slice(0, 200)}`;
    }
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  } catch (error) {
    latencies?.push(performance.now() - t);
    tally.timeouts++;
    tally.sampleError ??= String((error as Error).message ?? error);
    return undefined;
  }
}

const json = (token: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
  body: JSON.stringify(body),
});

/** 2 best seats, then payment by card approved at the simulator's checkout form. */
async function buyAndPay(http: Http, tally: Tally, token: string, scheduleId: number, admission?: string) {
  const hold = await call(
    tally,
    `${http.base}/orders`,
    json(token, { scheduleId, quantity: SEATS_PER_FAN }, admission ? { 'admission-token': admission } : {}),
    tally.holdMs,
  );
  if (hold?.status !== 201) {
    if (hold?.body.code === 'SOLD_OUT') tally.soldOutAnswers++;
    else if (hold && hold.status < 500) tally.sampleError ??= `${hold.status} ${JSON.stringify(hold.body)}`;
    return;
  }
  tally.holds++;
  tally.lastHoldAt = performance.now();
  const payment = await call(
    tally,
    `${http.base}/orders/${hold.body.id}/payments`,
    json(token, { provider: 'card' }),
  );
  const checkoutUrl = (payment?.body.checkout as { checkoutUrl?: string } | undefined)?.checkoutUrl;
  if (payment?.status !== 201 || !checkoutUrl) return;
  const form = new URL(checkoutUrl).searchParams;
  form.set('outcome', 'approve');
  const approved = await call(tally, `${http.sim}/builtin/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  if (approved?.status === 200) tally.paid++;
}

/** A fan with the room on: join, poll until admitted or sold out, buy. */
async function queuedFan(
  http: Http,
  tally: Tally,
  fan: number,
  scheduleId: number,
  started: number,
  pollMs = POLL_SECONDS * 1000,
) {
  const [token, roomToken] = [http.tokens[fan]!, http.roomTokens[fan]!];
  const joined = await call(
    tally,
    `${http.room}/schedules/${scheduleId}/queue`,
    json(roomToken, {}),
    tally.joinMs,
  );
  if (joined?.status !== 201 && joined?.status !== 200) return;
  const queueToken = String(joined.body.queueToken);
  // as the fan app does (web/fan/waiting-room.tsx): a first poll at once, then every `pollMs`
  for (let first = true; ; first = false) {
    if (!first) await sleep(pollMs);
    if (performance.now() - started > GIVE_UP_SECONDS * 1000) {
      tally.gaveUp++;
      return;
    }
    const polled = await call(
      tally,
      `${http.room}/schedules/${scheduleId}/queue`,
      { headers: { authorization: `Bearer ${roomToken}`, 'queue-token': queueToken } },
      tally.pollMs,
    );
    if (polled?.status !== 200) continue;
    if (typeof polled.body.admissionToken === 'string')
      return buyAndPay(http, tally, token, scheduleId, polled.body.admissionToken);
    if (polled.body.soldOut === true) {
      tally.soldOutAnswers++;
      return;
    }
  }
}

/** The crowd: each fan arrives at a random moment of the first JOIN_SECONDS. */
async function crowd(http: Http, scheduleId: number, room: boolean) {
  const tally = newTally();
  // the crowd's own event loop: every latency above is measured here, so its delays are in them
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const started = performance.now();
  await Promise.all(
    http.tokens.map(async (token, fan) => {
      await sleep(Math.random() * JOIN_SECONDS * 1000);
      if (room) await queuedFan(http, tally, fan, scheduleId, started);
      else await buyAndPay(http, tally, token, scheduleId);
    }),
  );
  lag.disable();
  return {
    tally,
    started,
    seconds: (performance.now() - started) / 1000,
    crowdLagP99Ms: round(lag.percentile(99) / 1e6),
  };
}

/** A venue of `seats` seats in rows of 20 (10 rows a section) and a performance of it on sale. */
async function onSaleSchedule(sql: Sql, seats: number) {
  const perRow = Math.min(20, seats);
  const rows = Math.ceil(seats / perRow);
  const venue = await createVenue(sql, {
    name: `On-sale Hall ${seats}`,
    sections: Array.from({ length: Math.ceil(rows / 10) }, (_, s) => ({
      section: `A${s + 1}`,
      rows: Array.from({ length: Math.min(10, rows - s * 10) }, (_, r) => ({
        rowLabel: `R${r + 1}`,
        seats: perRow,
        seatType: 'std',
        basePrice: 100000,
      })),
    })),
  });
  const concert = await createConcert(sql, { title: 'On-sale Night', artist: 'Bench Band', genre: 'pop' });
  const schedules: number[] = [];
  for (let i = 0; i < 4; i++) {
    const start = new Date(Date.now() + (14 + i) * 86_400_000);
    const schedule = await createSchedule(sql, {
      concertId: concert.id,
      venueId: venue.id,
      startAt: start.toISOString(),
      endAt: new Date(start.getTime() + 7_200_000).toISOString(),
    });
    schedules.push(schedule.id);
  }
  await sql`analyze`;
  const [warmUp, calibration, withRoom, withoutRoom] = schedules as [number, number, number, number];
  return { warmUp, calibration, withRoom, withoutRoom };
}

const availableSeats = async (sql: Sql, scheduleId: number) => {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from schedule_seats ss where ss.schedule_id = ${scheduleId} and seat_is_free(ss)`;
  return row!.n;
};

/** Waits (up to 30 s) until the simulator's webhooks have made every approved payment's order paid. */
async function paidOrders(sql: Sql, scheduleId: number, approved: number): Promise<number> {
  let paid = 0;
  for (let i = 0; i < 60; i++) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from orders where schedule_id = ${scheduleId} and status = 'paid'`;
    paid = row!.n;
    if (paid >= approved) break;
    await sleep(500);
  }
  return paid;
}

async function report(sql: Sql, scheduleId: number, run: Awaited<ReturnType<typeof crowd>>) {
  const { tally } = run;
  const left = await availableSeats(sql, scheduleId);
  return {
    joinP99Ms: tally.joinMs.length ? round(percentile(tally.joinMs, 99)) : null,
    pollP99Ms: tally.pollMs.length ? round(percentile(tally.pollMs, 99)) : null,
    polls: tally.pollMs.length,
    holdP50Ms: round(percentile(tally.holdMs, 50)),
    holdP99Ms: round(percentile(tally.holdMs, 99)),
    holdAttempts: tally.holdMs.length,
    holds: tally.holds,
    paymentsApproved: tally.paid,
    ordersPaid: await paidOrders(sql, scheduleId, tally.paid),
    // from the first arrival to the last hold, once the service answered SOLD_OUT (no 2 seats left)
    sellOutSeconds: tally.soldOutAnswers > 0 ? round((tally.lastHoldAt - run.started) / 1000, 2) : null,
    seatsLeft: left,
    soldOutAnswers: tally.soldOutAnswers,
    gaveUp: tally.gaveUp,
    errors5xx: tally.errors5xx,
    timeouts: tally.timeouts,
    doubleBookings: await doubleBookings(sql, scheduleId),
    ...(await singleSeats(sql, scheduleId)),
    seconds: round(run.seconds, 2),
    crowdLagP99Ms: run.crowdLagP99Ms,
    sampleError: tally.sampleError,
  };
}

/**
 * Before anything is timed, the server as both crowds meet it: every fan known (its bearer token
 * verified and cached, its user row made: each fan's first request does both), and every connection
 * of the server's pool warm for every step of a fan's journey — as many fans at once as the pool has
 * connections join a room of their own, are admitted, take 2 best seats and pay. Without this the
 * first crowd paid the server's warm-up: 56 cold connections planning every statement, 2,000 first
 * requests; and with holds alone warmed, its holds still climbed to 100 ms while the pool's
 * connections planned the payment path (the crowd that went second met 20 ms).
 */
async function warmUp(http: Http, admin: Sql, scheduleId: number) {
  const tally = newTally();
  for (let i = 0; i < http.tokens.length; i += SIZE.apiConnections) {
    await Promise.all(
      http.tokens.slice(i, i + SIZE.apiConnections).flatMap((token, j) => [
        call(tally, `${http.base}/me/orders`, { headers: { authorization: `Bearer ${token}` } }),
        call(tally, `${http.room}/me/orders`, {
          headers: { authorization: `Bearer ${http.roomTokens[i + j]}` },
        }),
      ]),
    );
  }
  await inTx(admin, (tx) =>
    configureWaitingRoom(tx, scheduleId, { enabled: true, admitPerMinute: 100_000 }, new Date()),
  );
  const started = performance.now();
  await Promise.all(
    http.tokens
      .slice(0, SIZE.apiConnections)
      .map((_, fan) => queuedFan(http, tally, fan, scheduleId, started, 100)),
  );
  if (tally.errors5xx || tally.timeouts || tally.gaveUp)
    log(`on-sale: warm-up met ${tally.errors5xx} 5xx, ${tally.timeouts} timeouts, ${tally.gaveUp} gave up`);
}

/** Best-available ×2 holds/s of a few connections through the gateway, for a few seconds. */
async function calibrate(http: Http, scheduleId: number) {
  const tally = newTally();
  const until = performance.now() + (QUICK ? 1000 : 3000);
  const started = performance.now();
  let sold = false;
  await Promise.all(
    http.tokens.slice(0, 8).map(async (token) => {
      while (!sold && performance.now() < until) {
        const res = await call(
          tally,
          `${http.base}/orders`,
          json(token, { scheduleId, quantity: SEATS_PER_FAN }),
        );
        if (res?.status === 201) tally.holds++;
        else if (res?.body.code === 'SOLD_OUT') sold = true;
      }
    }),
  );
  return tally.holds / ((performance.now() - started) / 1000);
}

/**
 * Waits (up to 60 s) until the server answers a health check within 200 ms: requests the crowd
 * gave up on are still being served, and the next crowd must not start behind them.
 */
async function settle(base: string) {
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    try {
      await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
      if (performance.now() - t < 200) return;
    } catch {}
    await sleep(1000);
  }
}

async function tokensFor(base: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, count - i) }, async (_, j) => {
        const res = await fetch(`${base}/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sub: `on-sale-fan-${i + j}` }),
        });
        return ((await res.json()) as { token: string }).token;
      }),
    );
    tokens.push(...batch);
  }
  return tokens;
}

export async function onSale(url: string, admin: Sql) {
  const fans = SIZE.onSaleFans;
  const seats = (fans / 4) * SEATS_PER_FAN;
  log(`on-sale: ${fans} fans, ${seats} seats`);
  const schedules = await onSaleSchedule(admin, seats);
  const simPort = await freePort();
  const { base, child } = await startServer(url, { PG_SIMULATOR_PORT: String(simPort) });
  // On AWS every route is its own function and scales apart from the others: polls never wait
  // behind holds and payments in one event loop. Locally the waiting room's routes get a process of
  // their own (same code, same database, its own admission cache, as a container has), so a poll
  // measures the room's work, not the shop's queue. Its pool is small: a join is one statement, and
  // polls read the database at most twice a second (domain/waiting-room.ts `AdmissionStates`).
  const roomServer = await startServer(url, {
    PG_SIMULATOR_PORT: String(await freePort()),
    DB_POOL_MAX: '8',
  });
  let advancing = false;
  const advancer = setInterval(async () => {
    if (advancing) return;
    advancing = true;
    try {
      await advanceWaitingRooms(admin, new Date());
    } catch (error) {
      log(`advancer failed: ${(error as Error).message}`);
    } finally {
      advancing = false;
    }
  }, 1000);
  try {
    const http: Http = {
      base,
      room: roomServer.base,
      sim: `http://127.0.0.1:${simPort}`,
      tokens: await tokensFor(base, fans),
      roomTokens: await tokensFor(roomServer.base, fans),
    };
    await warmUp(http, admin, schedules.warmUp);
    const calibrationHoldsPerSec = await calibrate(http, schedules.calibration);
    const admitPerMinute = Math.max(1, Math.round((calibrationHoldsPerSec * 60) / 2));
    log(`on-sale: calibration ${round(calibrationHoldsPerSec)} holds/s → admit ${admitPerMinute} fans/min`);
    await inTx(admin, (tx) =>
      configureWaitingRoom(tx, schedules.withRoom, { enabled: true, admitPerMinute }, new Date()),
    );
    log('on-sale: room on');
    const room = await report(admin, schedules.withRoom, await crowd(http, schedules.withRoom, true));
    await settle(base);
    log('on-sale: room off');
    const noRoom = await report(
      admin,
      schedules.withoutRoom,
      await crowd(http, schedules.withoutRoom, false),
    );
    return {
      date: new Date().toISOString(),
      fans,
      seats,
      joinSeconds: JOIN_SECONDS,
      pollSeconds: POLL_SECONDS,
      calibrationHoldsPerSec: round(calibrationHoldsPerSec),
      admitPerMinute,
      room,
      noRoom,
      sellOutRatio:
        room.sellOutSeconds !== null && noRoom.sellOutSeconds
          ? round(room.sellOutSeconds / noRoom.sellOutSeconds, 2)
          : null,
    };
  } finally {
    clearInterval(advancer);
    child.kill('SIGTERM');
    roomServer.child.kill('SIGTERM');
  }
}
