import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { loadDemoData } from '../../local/demo-data';
import type { SeatModel } from '../fan/seat-map/model';
import {
  clickSeat,
  expectAccessible,
  openApp,
  openSeatMap,
  screenshot,
  seatModel,
  signInAs,
  startWebStack,
  type WebStack,
} from './browser';

/**
 * The app and time: a hold that runs out while the fan watches (a short HOLD_TTL_SECONDS), and the
 * waiting room letting a fan in by itself at the room's pace.
 */
vi.setConfig({ testTimeout: 180_000 });

let stack: WebStack;
let scheduleIds: number[];
let hall: SeatModel;

beforeAll(async () => {
  stack = await startWebStack({ HOLD_TTL_SECONDS: '12', HOLD_EXTENSION_SECONDS: '6' });
  await loadDemoData(stack.api.sql);
  const schedules = await stack.api.sql<{ id: number; venueId: number }[]>`
    select id, venue_id as "venueId" from schedules order by id`;
  scheduleIds = schedules.map((s) => s.id);
  hall = await seatModel(stack, schedules[0]!.venueId);
});
afterAll(() => stack?.close());

const seatStatus = async (scheduleId: number) =>
  (await stack.api.request('GET', `/schedules/${scheduleId}/seat-status`)).body.availableCount as number;

test('the hold counts down, is extended once, runs out, and the seat is back on sale', async () => {
  const page = await openApp(stack);
  await openSeatMap(page, scheduleIds[0]!);
  await signInAs(page, 'fan-slow');
  const seat = hall.seat(hall.rows[5]!.first + 7);
  await clickSeat(page, hall, seat.seatId);
  await page.getByRole('button', { name: 'Hold this seat' }).click();

  const heading = page.getByRole('heading', { name: /Your seats are held for/ });
  await heading.waitFor();
  const free = await seatStatus(scheduleIds[0]!);
  expect(free).toBe(2399);
  const before = await page.locator('.countdown time').textContent();
  expect(before).toMatch(/^0:(0\d|1[0-2])$/);

  await page.getByRole('button', { name: 'I need more time (once)' }).click();
  await page.getByText('Your seats are held a little longer').waitFor();
  await expect(page.getByRole('button', { name: 'I need more time (once)' }).count()).resolves.toBe(0);

  const lapsed = page.getByRole('alert').filter({ hasText: 'Your hold ran out' });
  await lapsed.waitFor({ timeout: 30_000 });
  await expectAccessible(page, 'a lapsed hold');
  await screenshot(page, 'hold-lapsed');
  expect(await page.getByRole('button', { name: /^Pay / }).isDisabled()).toBe(true);
  expect(await seatStatus(scheduleIds[0]!)).toBe(2400);

  await page.getByRole('link', { name: 'Choose seats again' }).click();
  await page.waitForFunction(() => document.body.dataset.seatMap === 'ready');
});

test('the waiting room shows the fan’s place and an estimate, then lets the fan in by itself', async () => {
  const scheduleId = scheduleIds[1]!;
  const admin = await stack.api.adminToken();
  const on = await stack.api.request('PATCH', `/admin/schedules/${scheduleId}`, {
    token: admin,
    body: { waitingRoom: { enabled: true, admitPerMinute: 12 } },
  });
  expect(on.status).toBe(200);
  // two fans are ahead: at 12 a minute the third is let in about 15 s after the room opened
  for (const sub of ['early-1', 'early-2']) {
    const joined = await stack.api.request('POST', `/schedules/${scheduleId}/queue`, {
      token: await stack.api.token(sub),
    });
    expect(joined.status).toBe(201);
  }

  const page = await openApp(stack, `/#/schedules/${scheduleId}`);
  await page.getByRole('heading', { name: 'Sign in to join the queue' }).waitFor();
  await signInAs(page, 'fan-queued');
  const room = page.getByRole('region', { name: /You are in the waiting room/ });
  await room.getByText('Your place in the queue').waitFor();
  expect(await room.locator('dd').first().textContent()).toBe('3');
  await expect.poll(() => room.textContent()).toMatch(/Estimated wait.*(seconds|minute|now)/);
  await expectAccessible(page, 'the waiting room');
  await screenshot(page, 'waiting-room');

  // admitted: the map comes by itself, and a hold carries the admission
  await page.waitForFunction(() => document.body.dataset.seatMap === 'ready', undefined, { timeout: 60_000 });
  const best = page.getByRole('form', { name: 'Or: the best seats for you' });
  await best.getByLabel('Seats').selectOption('1');
  await best.getByRole('button', { name: 'Find and hold the best seats' }).click();
  await page.getByRole('heading', { name: /Your seats are held for/ }).waitFor();
});
