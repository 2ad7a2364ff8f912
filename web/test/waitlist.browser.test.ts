import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { createShow, type Show } from '../../test/fixtures';
import {
  expectAccessible,
  openApp,
  openSeatMap,
  screenshot,
  signInAs,
  startWebStack,
  type WebStack,
} from './browser';

/**
 * The cancellation wait-list in the browser (API.md "Second chances"): a fan joins it on a sold-out
 * performance, someone else's seats come free, and the fan pays the offer before its deadline.
 */
vi.setConfig({ testTimeout: 180_000 });

let stack: WebStack;
let show: Show;

beforeAll(async () => {
  stack = await startWebStack();
  show = await createShow(stack.api.sql, { rows: 1, seatsPerRow: 2 });
  const on = await stack.api.request('PATCH', `/admin/schedules/${show.scheduleId}`, {
    token: await stack.api.adminToken(),
    body: { waitlist: { enabled: true } },
  });
  expect(on.status).toBe(200);
});
afterAll(() => stack?.close());

test('a fan joins the wait-list of a sold-out performance, is offered freed seats and pays them by card', async () => {
  const other = await stack.api.token('fan-first');
  const held = await stack.api.request('POST', '/orders', {
    token: other,
    body: { scheduleId: show.scheduleId, seatIds: show.seatIds },
  });
  expect(held.status).toBe(201);

  const page = await openApp(stack);
  await openSeatMap(page, show.scheduleId);
  await signInAs(page, 'fan-waiting');
  const form = page.getByRole('form', { name: 'Join the wait-list' });
  await form.getByText('Sold out for now.').waitFor();
  await form.getByLabel('Seats').selectOption('2');
  await form.getByRole('button', { name: 'Join the wait-list' }).click();
  await page.getByText(/You are number 1 in line/).waitFor();
  await expectAccessible(page, 'the seat map with the wait-list');
  await screenshot(page, 'waitlist-joined');

  const cancelled = await stack.api.request('POST', `/orders/${held.body.id}/cancel`, {
    token: other,
    body: {},
  });
  expect(cancelled.status).toBe(200);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wait-lists' }).click();
  const card = page.getByRole('article', { name: /Fixture Show/ });
  await card.getByText('Seats offered').waitFor();
  await expectAccessible(page, 'my wait-lists');
  await screenshot(page, 'waitlist-offered');
  await card.getByRole('link', { name: 'See the offer and pay' }).click();

  await page.getByText('Offered from the wait-list').waitFor();
  await page.getByRole('heading', { name: /Your seats are held for/ }).waitFor();
  expect(await page.getByRole('button', { name: /more time/ }).count()).toBe(0);
  const orderId = Number(/#\/orders\/(\d+)/.exec(page.url())?.[1]);
  await page.getByLabel('Credit card').check();
  await page.getByRole('button', { name: /^Pay / }).click();
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('heading', { name: 'You have your tickets' }).waitFor({ timeout: 20_000 });

  const fan = await stack.api.token('fan-waiting');
  const order = await stack.api.request('GET', `/orders/${orderId}`, { token: fan });
  expect(order.body).toMatchObject({ status: 'paid', offer: true });
  expect(order.body.items.map((i: { seatId: number }) => i.seatId).sort()).toEqual([...show.seatIds].sort());
  const mine = await stack.api.request('GET', '/me/waitlist', { token: fan });
  expect(mine.body.items).toMatchObject([{ status: 'accepted', orderId }]);
});
