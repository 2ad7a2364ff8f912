import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSql, setSql } from '../../db/client';
import { ensureAppRole } from '../../db/migrate';
import { forgetUsers } from '../../db/users';
import { advanceWaitingRooms } from '../../domain/waiting-room';
import { createTestApi, type TestApi } from '../../test/api';
import { createShow, invariantViolations, type Show } from '../../test/fixtures';
import { now, useClock } from '../adapters/clock';
import { forgetAdmissionStates } from '../waiting-room';

/**
 * The waiting room through the API, as fans and admins use it: joining, polling, the admission
 * check of POST /orders. The clock is the tests' (functions/adapters/clock.ts): admission and
 * token lifetimes move when the tests move it, never by sleeping.
 */
let api: TestApi;
let admin: string;
let clock: number;
let fans = 0;

beforeAll(async () => {
  api = await createTestApi({ MAX_SEATS_PER_USER: '8' });
  admin = await api.adminToken();
});
afterAll(async () => {
  useClock(undefined);
  expect(await invariantViolations(api.sql)).toEqual({});
  await api.close();
});
beforeEach(() => {
  clock = Date.now();
  useClock(() => new Date(clock));
  forgetAdmissionStates();
});
afterEach(() => useClock(undefined));

/** Moves the clock; past a second, every container's admission cache is stale. */
const tick = (seconds: number) => {
  clock += seconds * 1000;
};

async function showWithRoom(admitPerMinute = 60, options: { rows?: number; seatsPerRow?: number } = {}) {
  const show = await createShow(api.sql, { rows: options.rows ?? 5, seatsPerRow: options.seatsPerRow ?? 10 });
  const res = await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
    token: admin,
    body: { waitingRoom: { enabled: true, admitPerMinute } },
  });
  expect(res.status).toBe(200);
  return show;
}

interface Fan {
  sub: string;
  token: string;
}
const newFan = async (): Promise<Fan> => {
  const sub = `room-api-fan-${++fans}`;
  return { sub, token: await api.token(sub) };
};

const join = (fan: Fan, show: Show) =>
  api.request('POST', `/schedules/${show.scheduleId}/queue`, { token: fan.token });

const poll = (fan: Fan, show: Show, queueToken: string) =>
  api.request('GET', `/schedules/${show.scheduleId}/queue`, {
    token: fan.token,
    headers: { 'queue-token': queueToken },
  });

/**
 * One fan joins the room and polls `seconds` later, so this container reads the room then: the
 * poll's answer.
 */
async function readByFirstFan(show: Show, seconds: number) {
  const [first] = await line(show, 1);
  tick(seconds);
  return poll(first!, show, first!.queueToken);
}

/** `n` fans join one after the other: each with their queue token. */
async function line(show: Show, n: number) {
  const joined = [];
  for (let i = 0; i < n; i++) {
    const fan = await newFan();
    const res = await join(fan, show);
    expect(res.status).toBe(201);
    joined.push({ ...fan, position: res.body.position as number, queueToken: res.body.queueToken as string });
  }
  return joined;
}

const order = (fan: Fan, body: object, admissionToken?: string) =>
  api.request('POST', '/orders', {
    token: fan.token,
    body,
    headers: admissionToken === undefined ? {} : { 'admission-token': admissionToken },
  });

/** A token signed with another key, or none at all: what a forger can make. */
async function forged(sub: string, scheduleId: number, audience = 'waiting-room:admission') {
  return new SignJWT({ sid: scheduleId, pos: 1 })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('ticketing/waiting-room')
    .setAudience(audience)
    .setSubject(sub)
    .setExpirationTime(Math.floor(clock / 1000) + 600)
    .sign(new TextEncoder().encode('a-key-that-is-not-the-waiting-rooms-own-key'));
}
function unsigned(sub: string, scheduleId: number) {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ iss: 'ticketing/waiting-room', aud: 'waiting-room:admission', sub, sid: scheduleId, exp: Math.floor(clock / 1000) + 600 })}.`;
}

describe('an admin turns the room on and off', () => {
  it('with POST /admin/schedules, and shows it on the schedule', async () => {
    const show = await createShow(api.sql);
    const start = new Date(Date.now() + 72 * 3600_000);

    const created = await api.request('POST', '/admin/schedules', {
      token: admin,
      body: {
        concertId: show.concertId,
        venueId: show.venueId,
        startAt: start.toISOString(),
        endAt: new Date(start.getTime() + 7200_000).toISOString(),
        waitingRoom: { enabled: true, admitPerMinute: 300 },
      },
    });
    const shown = await api.request('GET', `/schedules/${created.body.id}`);
    const other = await api.request('GET', `/schedules/${show.scheduleId}`);

    expect([created.status, created.body.waitingRoom]).toEqual([
      201,
      { enabled: true, admitPerMinute: 300, joined: 0, admittedThrough: 0 },
    ]);
    expect(shown.body.waitingRoom).toEqual({ enabled: true });
    expect(other.body.waitingRoom).toEqual({ enabled: false });
  });

  it('with PATCH, alone or with a status change, keeping the rate when it is left out', async () => {
    const show = await createShow(api.sql);
    const patch = (body: object) =>
      api.request('PATCH', `/admin/schedules/${show.scheduleId}`, { token: admin, body });

    const on = await patch({ waitingRoom: { enabled: true, admitPerMinute: 120 } });
    const closedAndOff = await patch({ status: 'closed', waitingRoom: { enabled: false } });
    const reopened = await patch({ status: 'sales_open' });
    const onAgain = await patch({ waitingRoom: { enabled: true } });

    expect(
      [on, closedAndOff, reopened, onAgain].map((r) => [r.status, r.body.status, r.body.waitingRoom.enabled]),
    ).toEqual([
      [200, 'sales_open', true],
      [200, 'closed', false],
      [200, 'sales_open', false],
      [200, 'sales_open', true],
    ]);
    expect(onAgain.body.waitingRoom.admitPerMinute).toBe(120);
  });

  it('refuses an empty change, a first room without a rate, and an unknown schedule', async () => {
    const show = await createShow(api.sql);
    const patch = (id: number, body: object) =>
      api.request('PATCH', `/admin/schedules/${id}`, { token: admin, body });

    const answers = [
      await patch(show.scheduleId, {}),
      await patch(show.scheduleId, { waitingRoom: { enabled: true } }),
      await patch(show.scheduleId, { waitingRoom: { enabled: true, admitPerMinute: 0 } }),
      await patch(999_999, { waitingRoom: { enabled: true, admitPerMinute: 60 } }),
    ];

    expect(answers.map((r) => [r.status, r.body.code])).toEqual([
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
      [404, 'NOT_FOUND'],
    ]);
  });

  it('still answers a cancel with 202, with or without a room change', async () => {
    const show = await showWithRoom();

    const res = await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
      token: admin,
      body: { status: 'cancelled', waitingRoom: { enabled: false } },
    });

    expect([res.status, res.body.status, res.body.waitingRoom.enabled]).toEqual([202, 'cancelled', false]);
  });
});

describe('joining', () => {
  it('gives a position, a queue token and an estimated wait; joining again the same position (200)', async () => {
    const show = await showWithRoom(60);
    const [first] = await line(show, 1);
    const fan = await newFan();

    const joined = await join(fan, show);
    tick(1);
    const again = await join(fan, show);

    expect(first!.position).toBe(1);
    expect([joined.status, joined.body.position, joined.body.estimatedWaitSeconds]).toEqual([201, 2, 2]);
    expect([again.status, again.body.position]).toEqual([200, 2]);
    expect(again.body.queueToken).toEqual(expect.any(String));
    expect(again.body.queueToken).not.toBe(joined.body.queueToken);
  });

  it('replays a join sent again with the same Idempotency-Key', async () => {
    const show = await showWithRoom(60);
    const fan = await newFan();
    const send = () =>
      api.request('POST', `/schedules/${show.scheduleId}/queue`, {
        token: fan.token,
        headers: { 'idempotency-key': 'join-once' },
      });

    const first = await send();
    tick(1);
    const replay = await send();

    expect([first.status, replay.status, replay.headers['idempotency-key']]).toEqual([201, 201, 'join-once']);
    expect(replay.body).toEqual(first.body);
  });

  it('refuses a room that is off (409), a schedule not on sale (409) and an unknown one (404)', async () => {
    const off = await createShow(api.sql);
    const closed = await showWithRoom();
    await api.request('PATCH', `/admin/schedules/${closed.scheduleId}`, {
      token: admin,
      body: { status: 'closed' },
    });
    const fan = await newFan();

    const answers = await Promise.all(
      [off, closed, { scheduleId: 999_999 } as Show].map((s) => join(fan, s)),
    );

    expect(answers.map((r) => [r.status, r.body.code])).toEqual([
      [409, 'WAITING_ROOM_OFF'],
      [409, 'SALES_CLOSED'],
      [404, 'NOT_FOUND'],
    ]);
  });

  it('gives 1,000 fans joining at once over real connections the positions 1 to 1,000, each once', async () => {
    const show = await showWithRoom(60);
    const crowd = await Promise.all(Array.from({ length: 1000 }, () => newFan()));

    // real HTTP requests to the local gateway, all in flight together
    const answers = await Promise.all(
      crowd.map(async (fan) => {
        const res = await fetch(`${api.apiBase}/schedules/${show.scheduleId}/queue`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fan.token}` },
        });
        return { status: res.status, body: (await res.json()) as { position: number } };
      }),
    );
    const [stored] = await api.sql<{ n: number; distinct: number; max: number }[]>`
      select count(*)::int as n, count(distinct position)::int as distinct, max(position)::int as max
      from queue_entries where schedule_id = ${show.scheduleId}`;

    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    expect(answers.map((a) => a.body.position).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    expect(stored).toEqual({ n: 1000, distinct: 1000, max: 1000 });
  });
});

describe('polling', () => {
  it('admits in position order at the rate: an admission token for the admitted, a wait for the rest', async () => {
    const show = await showWithRoom(60);
    const joined = await line(show, 5);

    tick(2);
    const at2s = await Promise.all(joined.map((f) => poll(f, show, f.queueToken)));
    tick(2);
    const at4s = await Promise.all(joined.map((f) => poll(f, show, f.queueToken)));

    const view = (r: (typeof at2s)[number]) => [
      r.status,
      r.body.position,
      r.body.admittedThrough,
      r.body.estimatedWaitSeconds,
      r.body.soldOut,
      typeof r.body.admissionToken,
    ];
    expect(at2s.map(view)).toEqual([
      [200, 1, 2, 0, false, 'string'],
      [200, 2, 2, 0, false, 'string'],
      [200, 3, 2, 1, false, 'undefined'],
      [200, 4, 2, 2, false, 'undefined'],
      [200, 5, 2, 3, false, 'undefined'],
    ]);
    expect(at4s.map((r) => typeof r.body.admissionToken)).toEqual([
      'string',
      'string',
      'string',
      'string',
      'undefined',
    ]);
  });

  it('admits a fan at its first poll though the container read the room before it joined, as fast as the rate has run since the read', async () => {
    const show = await showWithRoom(600);
    // the container reads the room now: one fan has joined, the rate would admit 20
    const firstPoll = await readByFirstFan(show, 2);
    const newcomers = await line(show, 3);
    tick(0.2); // still the same read: 2 more fans' worth of the rate since it

    const polls = await Promise.all(newcomers.map((f) => poll(f, show, f.queueToken)));

    expect([firstPoll.body.position, typeof firstPoll.body.admissionToken]).toEqual([1, 'string']);
    // each fan's own position proves the queue reaches it, up to what the rate gave since the read
    expect(polls.map((r) => [r.body.position, r.body.admittedThrough, typeof r.body.admissionToken])).toEqual(
      [
        [2, 2, 'string'],
        [3, 3, 'string'],
        [4, 3, 'undefined'],
      ],
    );
  });

  it('admits the first fan who joins just after the read at once, before the rate has run a whole fan since (the on-sale bench)', async () => {
    const show = await showWithRoom(600);
    await readByFirstFan(show, 2); // the container reads the room: one fan joined
    const [next] = await line(show, 1);
    tick(0.05); // half a fan's worth of the rate since the read

    const res = await poll(next!, show, next!.queueToken);

    expect([res.body.position, res.body.admittedThrough, typeof res.body.admissionToken]).toEqual([
      2,
      2,
      'string',
    ]);
  });

  it('admits no fan who joined after a container read the room past what the rate gave since (the review of the first-poll change)', async () => {
    const show = await showWithRoom(60);
    // this container reads the room: a checkpoint a minute old, one fan joined
    const firstPoll = await readByFirstFan(show, 59);
    // under half the copy's life, so no request reads it again in the background
    tick(0.4);
    // the queue was short: the advancer banks nothing (base 1)
    await advanceWaitingRooms(api.sql, now());
    const later = await line(show, 30);
    const last = later[29]!;
    const lastPoll = await poll(last, show, last.queueToken);
    forgetAdmissionStates(); // another container, a fresh read
    const secondPoll = await poll(later[0]!, show, later[0]!.queueToken);

    expect(typeof firstPoll.body.admissionToken).toBe('string');
    expect([
      secondPoll.body.position,
      secondPoll.body.admittedThrough,
      'admissionToken' in secondPoll.body,
    ]).toEqual([2, 1, false]);
    // 31 is not admitted while 2 waits: the stale copy counts newcomers at the rate since its read
    // (0.4 of a fan, rounded up: one fan past the fresh read at most)
    expect([
      lastPoll.body.position,
      lastPoll.body.admittedThrough,
      'admissionToken' in lastPoll.body,
    ]).toEqual([31, 2, false]);
  });

  it("refuses a queue token that is another fan's, another schedule's or forged (403), and none (400)", async () => {
    const [show, other] = [await showWithRoom(), await showWithRoom()];
    const [a, b] = await line(show, 2);
    const [c] = await line(other, 1);

    const answers = [
      await poll(b!, show, a!.queueToken),
      await poll(c!, show, c!.queueToken),
      await poll(a!, show, await forged(a!.sub, show.scheduleId, 'waiting-room:queue')),
      await api.request('GET', `/schedules/${show.scheduleId}/queue`, { token: a!.token }),
    ];

    expect(answers.map((r) => [r.status, r.body.code])).toEqual([
      [403, 'QUEUE_TOKEN_INVALID'],
      [403, 'QUEUE_TOKEN_INVALID'],
      [403, 'QUEUE_TOKEN_INVALID'],
      [400, 'VALIDATION_FAILED'],
    ]);
  });

  it('shows soldOut and admits nobody more once nothing is available', async () => {
    const show = await showWithRoom(60, { rows: 1, seatsPerRow: 2 });
    const joined = await line(show, 4);
    tick(1);
    const [first] = await Promise.all(joined.map((f) => poll(f, show, f.queueToken)));
    const bought = await order(
      joined[0]!,
      { scheduleId: show.scheduleId, quantity: 2 },
      first!.body.admissionToken,
    );

    tick(2);
    const soon = await Promise.all(joined.map((f) => poll(f, show, f.queueToken)));
    await advanceWaitingRooms(api.sql, now());
    tick(600);
    const later = await Promise.all(joined.map((f) => poll(f, show, f.queueToken)));

    expect(bought.status).toBe(201);
    for (const polls of [soon, later]) {
      expect(polls.map((r) => [r.body.soldOut, r.body.admittedThrough, 'admissionToken' in r.body])).toEqual([
        [true, 0, false],
        [true, 0, false],
        [true, 0, false],
        [true, 0, false],
      ]);
    }
  });

  it('writes nothing, and reads the database at most once a second per container', async () => {
    const show = await showWithRoom(60);
    const joined = await line(show, 5);
    // a login whose every transaction is read-only: any write a poll tried would fail it
    const role = `room_poller_${randomBytes(4).toString('hex')}`;
    await ensureAppRole(api.sql, role, 'poller-password');
    await api.sql.unsafe(`alter role ${role} set default_transaction_read_only = on`);
    const url = new URL(api.db.url);
    url.username = role;
    url.password = 'poller-password';
    const readOnly = createSql({ url: url.toString(), max: 2 });
    let statements = 0;
    const counted = new Proxy(readOnly, {
      apply(target, self, args) {
        statements++;
        return Reflect.apply(target, self, args);
      },
    });
    const refused = await readOnly`insert into users (sub) values ('poller-write')`.catch((e) => e.message);
    setSql(counted);
    forgetUsers(); // no cached users row to hide a write of one
    forgetAdmissionStates();
    const answers = [];
    const reads = [];
    try {
      for (let second = 0; second < 3; second++) {
        for (let round = 0; round < 10; round++) {
          answers.push(...(await Promise.all(joined.map((f) => poll(f, show, f.queueToken)))));
        }
        reads.push(statements);
        tick(1.5);
      }
    } finally {
      setSql(api.sql);
      await readOnly.end();
      await api.sql.unsafe(`drop owned by ${role}; drop role ${role}`);
    }

    expect(refused).toMatch(/read-only transaction/);
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    // 50 polls a second, one read of the room a second
    expect(reads).toEqual([1, 2, 3]);
  });
});

describe('POST /orders while the room is on', () => {
  let show: Show;
  let admitted: Awaited<ReturnType<typeof line>>;
  let tokens: string[];
  let other: Show;
  let seat = 0;
  const seats = (n: number) => {
    seat += n;
    return show.seatIds.slice(seat - n, seat);
  };

  beforeAll(async () => {
    clock = Date.now();
    useClock(() => new Date(clock));
    show = await showWithRoom(600);
    other = await showWithRoom(600);
    admitted = await line(show, 3);
    await line(other, 3);
    tick(1);
    const polls = await Promise.all(admitted.map((f) => poll(f, show, f.queueToken)));
    tokens = polls.map((r) => r.body.admissionToken);
    expect(tokens.every((t) => typeof t === 'string')).toBe(true);
  });

  it('takes an order with the fan’s admission token, explicit seats or best available', async () => {
    const explicit = await order(admitted[0]!, { scheduleId: show.scheduleId, seatIds: seats(2) }, tokens[0]);
    const best = await order(admitted[1]!, { scheduleId: show.scheduleId, quantity: 2 }, tokens[1]);

    expect([explicit.status, best.status]).toEqual([201, 201]);
  });

  it('refuses one without a token (ADMISSION_REQUIRED), and writes nothing for it', async () => {
    const [before] = await api.sql<{ n: number }[]>`select count(*)::int as n from orders`;

    const answers = [
      await order(admitted[2]!, { scheduleId: show.scheduleId, seatIds: seats(1) }),
      await order(admitted[2]!, { scheduleId: show.scheduleId, quantity: 1 }),
    ];
    const [after] = await api.sql<{ n: number }[]>`select count(*)::int as n from orders`;

    expect(answers.map((r) => [r.status, r.body.code])).toEqual([
      [403, 'ADMISSION_REQUIRED'],
      [403, 'ADMISSION_REQUIRED'],
    ]);
    expect(after).toEqual(before);
  });

  it("refuses another fan's, another schedule's, a forged, an unsigned, a queue token and an expired one (ADMISSION_INVALID)", async () => {
    const fan = admitted[2]!;
    const body = { scheduleId: other.scheduleId, quantity: 1 };
    const [otherFan] = await line(other, 1);
    tick(120);
    const otherPoll = await poll(otherFan!, other, otherFan!.queueToken);
    const fansOwnForOther = otherPoll.body.admissionToken as string;
    expect(typeof fansOwnForOther).toBe('string');

    const answers = [
      // fan 3 of `show` orders in `other` with: fan 1's token, their own token for `show`, …
      await order(fan, body, tokens[0]),
      await order(fan, body, tokens[2]),
      await order(fan, body, await forged(fan.sub, other.scheduleId)),
      await order(fan, body, unsigned(fan.sub, other.scheduleId)),
      await order(fan, body, fan.queueToken),
      await order(fan, body, 'not-a-token'),
    ];
    tick(601);
    const expired = await order(otherFan!, body, fansOwnForOther);

    expect([...answers, expired].map((r) => [r.status, r.body.code])).toEqual(
      Array.from({ length: 7 }, () => [403, 'ADMISSION_INVALID']),
    );
  });

  it('needs no token once the room is off, nor on a schedule that never had one', async () => {
    const plain = await createShow(api.sql);
    await api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
      token: admin,
      body: { waitingRoom: { enabled: false } },
    });
    tick(2);

    const answers = [
      await order(admitted[2]!, { scheduleId: show.scheduleId, seatIds: seats(1) }),
      await order(await newFan(), { scheduleId: plain.scheduleId, quantity: 2 }),
      // an old token is not in the way either
      await order(await newFan(), { scheduleId: plain.scheduleId, quantity: 1 }, 'stale'),
    ];

    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
  });
});

describe('the review of the room (issue 12): admission keeps its rate and its order', () => {
  const patch = (show: Show, body: object) =>
    api.request('PATCH', `/admin/schedules/${show.scheduleId}`, { token: admin, body });

  it('a room turned on before the sale opens does not let a backlog through when it opens', async () => {
    const show = await createShow(api.sql, { rows: 5, seatsPerRow: 10 });
    expect((await patch(show, { status: 'closed' })).status).toBe(200);
    expect((await patch(show, { waitingRoom: { enabled: true, admitPerMinute: 10 } })).status).toBe(200);
    tick(600); // ten minutes before the on-sale: the advancer keeps the room's checkpoint fresh
    await advanceWaitingRooms(api.sql, now());
    expect((await patch(show, { status: 'sales_open' })).status).toBe(200);
    const fans = await line(show, 25);
    tick(1.1);

    const polls = await Promise.all(fans.map((f) => poll(f, show, f.queueToken)));

    expect(polls.filter((r) => r.body.admissionToken).length).toBeLessThanOrEqual(1);
  });

  it('no admission is handed out while the room is off, so none outlives turning it back on', async () => {
    const show = await showWithRoom(1, { rows: 5, seatsPerRow: 10 });
    const fans = await line(show, 20);
    const last = fans[19]!;
    expect((await patch(show, { waitingRoom: { enabled: false } })).status).toBe(200);
    tick(1.1);

    const offPoll = await poll(last, show, last.queueToken);

    expect(offPoll.body.admissionToken).toBeUndefined();
    expect((await patch(show, { waitingRoom: { enabled: true } })).status).toBe(200);
    tick(1.1);
    const res = await order(last, { scheduleId: show.scheduleId, quantity: 2 });
    expect([res.status, res.body.code]).toEqual([403, 'ADMISSION_REQUIRED']);
  });
});
