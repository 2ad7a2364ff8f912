import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSql, inTx, type Sql } from '../db/client';
import { ensureAppRole } from '../db/migrate';
import { ensureUser } from '../db/users';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { createShow, type Show } from '../test/fixtures';
import { cancelOrder, placeOrder } from './orders';
import {
  AdmissionStates,
  admittedThrough,
  advanceWaitingRooms,
  configureWaitingRoom,
  joinQueue,
  queueStatus,
  readAdmissionState,
} from './waiting-room';

/**
 * The waiting room's rules on a real PostgreSQL, with a clock the tests move: positions in join
 * order, admission in position order at the room's rate, none while sold out.
 */
const limits = { holdTtlSeconds: 300, paymentTtlSeconds: 600, maxSeatsPerOrder: 8, maxSeatsPerUser: 8 };
const T0 = new Date('2030-01-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let db: TestDatabase;
let fans = 0;

beforeAll(async () => {
  db = await createTestDatabase({ max: 10 });
});
afterAll(() => db.drop());

const newFan = () => ensureUser(db.sql, { sub: `room-fan-${++fans}` });

async function showWithRoom(admitPerMinute: number, options: { rows?: number; seatsPerRow?: number } = {}) {
  const show = await createShow(db.sql, { rows: options.rows ?? 10, seatsPerRow: options.seatsPerRow ?? 20 });
  await inTx(db.sql, (tx) =>
    configureWaitingRoom(tx, show.scheduleId, { enabled: true, admitPerMinute }, T0),
  );
  return show;
}

/** `n` fans join one after the other; their ids, in join order. */
async function join(show: Show, n: number): Promise<{ userId: number; position: number }[]> {
  const joined = [];
  for (let i = 0; i < n; i++) {
    const userId = await newFan();
    joined.push({ userId, ...(await joinQueue(db.sql, show.scheduleId, userId)) });
  }
  return joined;
}

const admittedAt = async (show: Show, now: Date) =>
  admittedThrough((await readAdmissionState(db.sql, show.scheduleId, now))!, now);

describe('joining', () => {
  it('gives positions 1, 2, 3… in join order, and the same position to a fan who joins again', async () => {
    const show = await showWithRoom(60);

    const joined = await join(show, 5);
    const again = await joinQueue(db.sql, show.scheduleId, joined[2]!.userId);

    expect(joined.map((j) => j.position)).toEqual([1, 2, 3, 4, 5]);
    expect(again).toEqual({ position: 3, again: true });
  });

  it('numbers each schedule from 1, whatever the others do', async () => {
    const [a, b] = [await showWithRoom(60), await showWithRoom(60)];
    const fan = await newFan();

    const positions = [
      (await joinQueue(db.sql, a.scheduleId, fan)).position,
      (await joinQueue(db.sql, b.scheduleId, await newFan())).position,
      (await joinQueue(db.sql, b.scheduleId, fan)).position,
    ];

    expect(positions).toEqual([1, 1, 2]);
  });

  it('gives one fan joining twice at once one position, and leaves no hole for the next fan', async () => {
    const show = await showWithRoom(60);
    const fan = await newFan();

    const both = await Promise.all([
      joinQueue(db.sql, show.scheduleId, fan),
      joinQueue(db.sql, show.scheduleId, fan),
    ]);
    const next = await joinQueue(db.sql, show.scheduleId, await newFan());

    expect(both.map((j) => j.position)).toEqual([1, 1]);
    expect(both.map((j) => j.again).sort()).toEqual([false, true]);
    expect(next.position).toBe(2);
  });

  it('refuses a schedule whose room is off (409), one not on sale (409) and an unknown one (404)', async () => {
    const off = await createShow(db.sql);
    const closed = await showWithRoom(60);
    await db.sql`update schedules set status = 'closed' where id = ${closed.scheduleId}`;
    const fan = await newFan();

    const codes = await Promise.all(
      [off.scheduleId, closed.scheduleId, 999_999].map((id) =>
        joinQueue(db.sql, id, fan).catch((e) => [e.code, e.status]),
      ),
    );

    expect(codes).toEqual([
      ['WAITING_ROOM_OFF', 409],
      ['SALES_CLOSED', 409],
      ['NOT_FOUND', 404],
    ]);
  });
});

describe('admission', () => {
  it('admits in position order at admitPerMinute, continuously, as the advancer moves the checkpoint', async () => {
    const show = await showWithRoom(120, { rows: 20, seatsPerRow: 50 });
    const joined = await join(show, 300);

    // the advancer runs every minute; polls in between compute from its checkpoint
    const seen: [number, number][] = [];
    let statuses: ReturnType<typeof queueStatus>[] = [];
    for (let second = 0; second <= 180; second += 15) {
      if (second > 0 && second % 60 === 0) await advanceWaitingRooms(db.sql, at(second));
      const state = (await readAdmissionState(db.sql, show.scheduleId, at(second)))!;
      seen.push([second, admittedThrough(state, at(second))]);
      if (second === 90) statuses = joined.map((j) => queueStatus(state, j.position, at(100)));
    }

    expect(seen).toEqual([
      [0, 0],
      [15, 30],
      [30, 60],
      [45, 90],
      [60, 120],
      [75, 150],
      [90, 180],
      [105, 210],
      [120, 240],
      [135, 270],
      [150, 300],
      [165, 300], // the queue's end: admission is not banked for fans who have not joined
      [180, 300],
    ]);
    // strictly in order: the admitted are exactly the first positions
    expect(statuses.filter((s) => s.admitted).map((s) => s.position)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    expect(statuses[249]).toMatchObject({ position: 250, admitted: false, estimatedWaitSeconds: 25 });
  });

  it('stands still when the advancer stops, two minutes after its last checkpoint', async () => {
    const show = await showWithRoom(10);
    await join(show, 100);

    const admitted = [
      await admittedAt(show, at(60)),
      await admittedAt(show, at(120)),
      await admittedAt(show, at(600)),
    ];

    expect(admitted).toEqual([10, 20, 20]);
  });

  it('does not bank admission while the queue is short: later fans wait their turn at the rate', async () => {
    const show = await showWithRoom(60);
    await join(show, 2);
    await advanceWaitingRooms(db.sql, at(60));
    await join(show, 10);

    const admitted = [
      await admittedAt(show, at(60)),
      await admittedAt(show, at(65)),
      await admittedAt(show, at(70)),
    ];

    expect(admitted).toEqual([2, 7, 12]);
  });

  it('keeps what was admitted when the rate changes, and counts the new rate from then', async () => {
    const show = await showWithRoom(60);
    await join(show, 500);

    const before = await admittedAt(show, at(30));
    await inTx(db.sql, (tx) =>
      configureWaitingRoom(tx, show.scheduleId, { enabled: true, admitPerMinute: 600 }, at(30)),
    );
    const after = [await admittedAt(show, at(30)), await admittedAt(show, at(40))];

    expect([before, ...after]).toEqual([30, 30, 130]);
  });

  it('admits nobody more once sold out, says so, and resumes in position order when seats come back', async () => {
    const show = await showWithRoom(60, { rows: 1, seatsPerRow: 4 });
    const joined = await join(show, 10);
    const state = async (second: number) => {
      const s = (await readAdmissionState(db.sql, show.scheduleId, at(second)))!;
      const { admittedThrough: through, soldOut } = queueStatus(s, 1, at(second));
      return { through, soldOut };
    };
    // 4 seats: the first checkpoint may admit 4 fans, not the rate's 120
    const early = [await state(2), await state(59)];
    // fans 1 and 2 take all four seats
    const first = await placeOrder(
      db.sql,
      joined[0]!.userId,
      { scheduleId: show.scheduleId, seatIds: show.seatIds.slice(0, 2) },
      limits,
    );
    await placeOrder(
      db.sql,
      joined[1]!.userId,
      { scheduleId: show.scheduleId, seatIds: show.seatIds.slice(2) },
      limits,
    );
    const soldOut = [await state(3)];
    await advanceWaitingRooms(db.sql, at(60));
    soldOut.push(await state(61), await state(600));
    // fan 1 cancels: two seats are back, and admission goes on from the front of the queue
    await cancelOrder(db.sql, { id: joined[0]!.userId, isAdmin: false }, first.order.id);
    await advanceWaitingRooms(db.sql, at(660));
    const resumed = [await state(661), await state(662), await state(700)];

    expect(early).toEqual([
      { through: 2, soldOut: false },
      { through: 4, soldOut: false },
    ]);
    expect(soldOut).toEqual([
      { through: 0, soldOut: true },
      { through: 0, soldOut: true },
      { through: 0, soldOut: true },
    ]);
    expect(resumed).toEqual([
      { through: 1, soldOut: false },
      { through: 2, soldOut: false },
      { through: 2, soldOut: false },
    ]);
  });

  it('lets everyone who joined through while the room is off, and starts again from its last base when back on', async () => {
    const show = await showWithRoom(60);
    await join(show, 50);
    await inTx(db.sql, (tx) => configureWaitingRoom(tx, show.scheduleId, { enabled: false }, at(10)));
    const off = await admittedAt(show, at(20));
    await inTx(db.sql, (tx) => configureWaitingRoom(tx, show.scheduleId, { enabled: true }, at(30)));
    const on = [await admittedAt(show, at(30)), await admittedAt(show, at(40))];

    expect([off, ...on]).toEqual([50, 10, 20]);
  });

  it('asks for a rate the first time a room is turned on', async () => {
    const show = await createShow(db.sql);

    const error = await inTx(db.sql, (tx) =>
      configureWaitingRoom(tx, show.scheduleId, { enabled: true }, T0),
    ).catch((e) => e);

    expect([error.code, error.extensions.errors[0].field]).toEqual([
      'VALIDATION_FAILED',
      'body.waitingRoom.admitPerMinute',
    ]);
  });
});

describe("a container's copy of the room (AdmissionStates)", () => {
  it('answers from one read for a second, reads the next in the background past half of it, and never serves one older', async () => {
    const show = await showWithRoom(60);
    const states = new AdmissionStates(1000);
    const joined = async (seconds: number) =>
      (await states.get(db.sql, show.scheduleId, at(seconds)))!.joined;

    const first = await joined(0);
    await join(show, 1);
    const cached = await joined(0.4);
    // past half its life: answered from the copy at once, while the next read starts
    const stillCached = await joined(0.6);
    await vi.waitFor(async () => expect(await joined(0.7)).toBe(1), { timeout: 5000 });
    await join(show, 1);
    // the background read was taken at 0.6 s, so it is served until 1.6 s
    const refreshed = await joined(1.5);

    expect([first, cached, stillCached, refreshed]).toEqual([0, 0, 0, 1]);
    // nothing answers from a read a second old: a fresh copy waits for its read
    const fresh = new AdmissionStates(1000);
    await fresh.get(db.sql, show.scheduleId, at(0));
    await join(show, 1);
    expect((await fresh.get(db.sql, show.scheduleId, at(1)))!.joined).toBe(3);
  });

  it('keeps its copy when the background read fails, and never serves one a second old', async () => {
    const show = await showWithRoom(60);
    const states = new AdmissionStates(1000);
    // a database nobody listens on: every read fails to connect
    const down = createSql({ url: 'postgres://ticketing@127.0.0.1:1/none', connectTimeoutSeconds: 1 });
    try {
      await states.get(db.sql, show.scheduleId, at(0));
      await join(show, 1);
      const whileDown = (await states.get(down, show.scheduleId, at(0.6)))!.joined;
      // the failed read gave the next request its turn to read again
      await vi.waitFor(
        async () => expect((await states.get(db.sql, show.scheduleId, at(0.7)))!.joined).toBe(1),
        {
          timeout: 5000,
        },
      );
      await join(show, 1);
      // the copy read at 0.7 s is gone at 1.7 s: a request then waits for its own read
      const afterExpiry = (await states.get(db.sql, show.scheduleId, at(1.75)))!.joined;

      expect([whileDown, afterExpiry]).toEqual([0, 2]);
    } finally {
      await down.end();
    }
  });
});

describe('as the application role, which may create nothing', () => {
  let role: string;
  let app: Sql;

  beforeAll(async () => {
    role = `room_app_${randomBytes(4).toString('hex')}`;
    await ensureAppRole(db.sql, role, 'room-app-password');
    const url = new URL(db.url);
    url.username = role;
    url.password = 'room-app-password';
    app = createSql({ url: url.toString(), max: 4 });
  });
  afterAll(async () => {
    await app.end();
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop owned by ${role}`);
    await admin.unsafe(`drop role ${role}`);
    await admin.end();
  });

  it('turns a room on (creating its sequence), joins, advances and reads it', async () => {
    const show = await createShow(db.sql);
    const [privileges] = await app<{ create: boolean }[]>`
      select has_schema_privilege(current_user, 'public', 'CREATE') as create`;

    await inTx(app, (tx) =>
      configureWaitingRoom(tx, show.scheduleId, { enabled: true, admitPerMinute: 60 }, T0),
    );
    const positions = [
      await joinQueue(app, show.scheduleId, await newFan()),
      await joinQueue(app, show.scheduleId, await newFan()),
    ];
    await advanceWaitingRooms(app, at(60));

    expect(privileges!.create).toBe(false);
    expect(positions.map((p) => p.position)).toEqual([1, 2]);
    expect(admittedThrough((await readAdmissionState(app, show.scheduleId, at(60)))!, at(60))).toBe(2);
  });
});

describe('open_queue (security definer)', () => {
  it('creates a sequence only for a schedule that exists', async () => {
    const error = await db.sql`select open_queue(987654321)`.catch((e) => e);
    expect(error.message).toMatch(/no schedule 987654321/);
    const [row] =
      await db.sql`select count(*)::int as n from pg_class where relname = 'queue_positions_987654321'`;
    expect(row!.n).toBe(0);
  });
});
