import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
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
 * A fan's ways through the app, in Chromium, against the whole local stack with the demo data (a
 * 2,400-seat hall): seats picked on the map or the best ones found, paid in the provider's
 * window, a seat taken by someone else meanwhile, a cancel and its refund.
 */
vi.setConfig({ testTimeout: 180_000 });

let stack: WebStack;
let scheduleIds: number[];
let hall: SeatModel;

beforeAll(async () => {
  stack = await startWebStack();
  await loadDemoData(stack.api.sql);
  const schedules = await stack.api.sql<{ id: number; venueId: number }[]>`
    select id, venue_id as "venueId" from schedules order by id`;
  scheduleIds = schedules.map((s) => s.id);
  hall = await seatModel(stack, schedules[0]!.venueId);
});
afterAll(() => stack?.close());

/** The seat id of a seat of the hall by section, row and number. */
function seatId(section: string, rowLabel: string, number: number): number {
  const row = hall.rows.find((r) => hall.sections[r.section]!.name === section && r.label === rowLabel)!;
  const seat = hall.seat(row.first + number - 1);
  expect(seat.number).toBe(number);
  return seat.seatId;
}

const orderIdOf = (page: Page) => Number(/#\/orders\/(\d+)/.exec(page.url())?.[1]);

async function order(id: number) {
  const { body } = await stack.api.request('GET', `/orders/${id}`, { token: await stack.api.adminToken() });
  return body;
}

describe('buying', () => {
  test('a fan picks two seats on the map, holds them and pays in Toss’s payment window', async () => {
    const page = await openApp(stack);
    await openSeatMap(page, scheduleIds[0]!);
    await signInAs(page, 'fan-map');
    await expectAccessible(page, 'the seat map');

    const picked = [seatId('Floor', '1', 20), seatId('Floor', '1', 21)];
    for (const id of picked) await clickSeat(page, hall, id);
    await page.getByRole('heading', { name: 'Selected seats (2)' }).waitFor();
    await expect
      .poll(() => page.locator('.selection li').allTextContents())
      .toEqual([
        expect.stringContaining('Floor row 1 seat 20'),
        expect.stringContaining('Floor row 1 seat 21'),
      ]);
    await screenshot(page, 'seat-map');

    await page.getByRole('button', { name: 'Hold these 2 seats' }).click();
    await page.getByRole('heading', { name: /Your seats are held for/ }).waitFor();
    const orderId = orderIdOf(page);
    expect((await order(orderId)).status).toBe('created');
    await expectAccessible(page, 'the held order');
    await screenshot(page, 'hold');

    await page.getByRole('button', { name: /^Pay / }).click();
    await page.getByText("This page stands in for Toss's payment window").waitFor();
    await screenshot(page, 'toss-window');
    await page.getByRole('button', { name: 'Approve payment' }).click();

    await page.getByRole('heading', { name: 'You have your tickets' }).waitFor();
    await expectAccessible(page, 'the confirmation');
    await screenshot(page, 'confirmation');
    const paid = await order(orderId);
    expect(paid.status).toBe('paid');
    expect(paid.items.map((i: { seatId: number }) => i.seatId).sort()).toEqual(picked.sort());
  });

  test('a fan asks for the best 2 seats of a section and pays by card in the built-in gateway’s window', async () => {
    const page = await openApp(stack);
    await openSeatMap(page, scheduleIds[1]!);
    await signInAs(page, 'fan-best');
    const best = page.getByRole('form', { name: 'Or: the best seats for you' });
    await best.getByLabel('Seats').selectOption('2');
    await best.getByLabel('Section').selectOption('Balcony');
    await best.getByRole('button', { name: 'Find and hold the best seats' }).click();

    await page.getByRole('heading', { name: /Your seats are held for/ }).waitFor();
    const held = await order(orderIdOf(page));
    expect(held.items).toHaveLength(2);
    expect(held.items.every((i: { section: string }) => i.section === 'Balcony')).toBe(true);
    expect(Math.abs(held.items[0].number - held.items[1].number)).toBe(1);

    await page.getByLabel('Credit card').check();
    await page.getByRole('button', { name: /^Pay / }).click();
    await page.getByRole('button', { name: 'Approve' }).click();
    // the gateway's signed webhook reaches the server through the queue; the page waits for it
    await page.getByRole('heading', { name: 'You have your tickets' }).waitFor({ timeout: 20_000 });
    expect((await order(held.id)).status).toBe('paid');
  });

  test('a seat someone else takes between view and click: the hold names it and nothing is held', async () => {
    const page = await openApp(stack);
    await openSeatMap(page, scheduleIds[2]!);
    await signInAs(page, 'fan-late');
    // the map stops hearing of changes, as between two polls
    // (a poll the page dropped itself has nothing left to abort)
    await page.route('**/seat-status', (route) => route.abort().catch(() => {}));
    const [free, contested] = [seatId('West', 'W3', 5), seatId('West', 'W3', 6)];
    await clickSeat(page, hall, free);
    await clickSeat(page, hall, contested);
    await page.getByRole('heading', { name: 'Selected seats (2)' }).waitFor();

    const other = await stack.api.token('fan-quick');
    const taken = await stack.api.request('POST', '/orders', {
      token: other,
      body: { scheduleId: scheduleIds[2], seatIds: [contested] },
    });
    expect(taken.status).toBe(201);

    await page.getByRole('button', { name: 'Hold these 2 seats' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'taken by someone else' });
    await expect.poll(() => alert.textContent()).toContain('West row W3 seat 6');
    await page.getByRole('heading', { name: 'Selected seats (1)' }).waitFor();
    await expectAccessible(page, 'the seat map with a seat taken meanwhile');
    await screenshot(page, 'seat-taken');
    const [orders] = await stack.api.sql<{ n: number }[]>`
      select count(*)::int as n from orders o join users u on u.id = o.user_id where u.sub = 'fan-late'`;
    expect(orders!.n).toBe(0);
  });
});

test('a fan selects seats with the keyboard on the map and in the list view, and holds them', async () => {
  const page = await openApp(stack);
  await openSeatMap(page, scheduleIds[4]!);
  await signInAs(page, 'fan-keys');
  const map = page.getByRole('application', { name: /Seat map of Olympic Hall/ });
  await map.focus();
  const cursor = page.locator('#seat-map-cursor');
  await expect.poll(() => cursor.textContent()).toMatch(/^Floor row 1 seat 1, VIP, ₩198,000, free$/);
  await map.press('ArrowRight');
  await map.press('ArrowRight');
  await map.press('Enter');
  await expect.poll(() => cursor.textContent()).toBe('Floor row 1 seat 3, VIP, ₩198,000, selected');
  await map.press('ArrowDown');
  await map.press(' ');
  await expect.poll(() => cursor.textContent()).toBe('Floor row 2 seat 3, VIP, ₩198,000, selected');

  await page.getByRole('button', { name: 'List' }).click();
  const list = page.locator('.seat-list');
  await list.getByLabel('Section').selectOption({ label: 'Balcony' });
  await list.getByLabel('Row').first().selectOption({ label: 'Row B2 (40 free)' });
  await page.getByRole('checkbox', { name: /^Seat 5 · A · ₩99,000/ }).check();
  await page.getByRole('heading', { name: 'Selected seats (3)' }).waitFor();
  await expectAccessible(page, 'the list view');
  await screenshot(page, 'seat-list');

  await page.getByRole('button', { name: 'Hold these 3 seats' }).click();
  await page.getByRole('heading', { name: /Your seats are held for/ }).waitFor();
  const held = await order(orderIdOf(page));
  expect(
    held.items
      .map(
        (i: { section: string; rowLabel: string; number: number }) =>
          `${i.section} ${i.rowLabel}-${i.number}`,
      )
      .sort(),
  ).toEqual(['Balcony B2-5', 'Floor 1-3', 'Floor 2-3']);
});

describe('after buying', () => {
  test('a fan cancels one seat, then the rest, and sees each refund go back', async () => {
    const page = await openApp(stack);
    await openSeatMap(page, scheduleIds[3]!);
    await signInAs(page, 'fan-cancel');
    for (const n of [10, 11, 12]) await clickSeat(page, hall, seatId('East', 'E2', n));
    await page.getByRole('button', { name: 'Hold these 3 seats' }).click();
    await page.getByRole('button', { name: /^Pay / }).click();
    await page.getByRole('button', { name: 'Approve payment' }).click();
    await page.getByRole('heading', { name: 'You have your tickets' }).waitFor();
    const orderId = orderIdOf(page);

    await page.getByRole('link', { name: 'My orders' }).first().click();
    const card = page.getByRole('article', { name: new RegExp(`Order ${orderId}`) });
    await card.getByLabel('Cancel East row E2 seat 11').check();
    await card.getByRole('button', { name: 'Cancel the chosen seats (1)' }).click();
    await card.getByRole('button', { name: 'Yes, cancel' }).click();
    await card.getByText(/Refund of ₩132,000: sent to your card/).waitFor({ timeout: 15_000 });
    await expectAccessible(page, 'my orders');
    await screenshot(page, 'my-orders');

    await card.getByRole('button', { name: 'Cancel the whole order' }).click();
    await card.getByRole('button', { name: 'Yes, cancel' }).click();
    await card.getByText('Refunded', { exact: true }).waitFor();
    await expect.poll(async () => card.getByText(/sent to your card/).count(), { timeout: 15_000 }).toBe(2);
    const refunded = await order(orderId);
    expect(refunded.status).toBe('refunded');
    expect(refunded.payments.filter((p: { status: string }) => p.status === 'refund')).toHaveLength(2);
  });
});
