import { afterAll, beforeAll, expect, test } from 'vitest';
import { settleCancelledSchedules } from '../../domain/schedules';
import { expectAccessible, openApp, screenshot, signInAs, startWebStack, type WebStack } from './browser';

let stack: WebStack;
beforeAll(async () => {
  stack = await startWebStack();
});
afterAll(() => stack?.close());

/** A fan buys `count` seats of a type through the API and the built-in gateway, as the fan app would. */
async function fanBuys(scheduleId: number, seatType: string, count: number) {
  const { api } = stack;
  const fan = await api.token('fan-1');
  const map = await api.request('GET', `/schedules/${scheduleId}/seats`);
  const seatIds = map.body.seats
    .filter((s: { seatType: string; status: string }) => s.seatType === seatType && s.status === 'available')
    .slice(0, count)
    .map((s: { seatId: number }) => s.seatId);
  const order = await api.request('POST', '/orders', {
    token: fan,
    body: { scheduleId, seatIds },
    headers: { 'idempotency-key': `buy-${scheduleId}` },
  });
  const payment = await api.request('POST', `/orders/${order.body.id}/payments`, {
    token: fan,
    body: { provider: 'card' },
    headers: { 'idempotency-key': `pay-${order.body.id}` },
  });
  await api.webhook('card', {
    eventId: `paid-${payment.body.id}`,
    type: 'payment.succeeded',
    paymentId: payment.body.id,
    pgTid: `tid-${payment.body.id}`,
    amount: payment.body.amount,
    occurredAt: new Date().toISOString(),
  });
  await api.settle();
  return payment.body.amount as string;
}

test('an admin creates a concert, a venue and a performance, reads its report and the sales, runs the waiting room and cancels it', async () => {
  const page = await openApp(stack, '/console/');
  await page.getByRole('heading', { name: 'Console' }).waitFor();
  await expectAccessible(page, 'the console sign-in');
  await signInAs(page, 'admin-1');
  await page.getByRole('heading', { name: 'Concerts' }).waitFor();
  await expectAccessible(page, 'the console home');

  // a concert
  await page.getByRole('link', { name: 'New concert' }).first().click();
  const concertForm = page.getByRole('form', { name: 'New concert' });
  await concertForm.getByLabel('Title').fill('Autumn Lights');
  await concertForm.getByLabel('Artist').fill('Seoul Strings');
  await concertForm.getByLabel('Genre').fill('classical');
  await concertForm.getByLabel('Running time (minutes)').fill('120');
  await expectAccessible(page, 'the new concert form');
  await concertForm.getByRole('button', { name: 'Create the concert' }).click();
  await page.getByRole('heading', { name: 'Autumn Lights' }).waitFor();

  // a venue: a floor of 2 VIP rows of 10, and a second section of 5 R rows of 20
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'New venue' }).click();
  const venueForm = page.getByRole('form', { name: 'New venue' });
  await venueForm.getByLabel('Name', { exact: true }).fill('Lotte Concert Hall');
  await venueForm.getByLabel('Section name').fill('Floor');
  const maker = venueForm.getByRole('group', { name: 'Make the rows of Floor' });
  await maker.getByLabel('Rows').fill('2');
  await maker.getByLabel('Seats a row').fill('10');
  await maker.getByLabel('Seat type').fill('VIP');
  await maker.getByLabel('Price (₩)').fill('150000');
  await maker.getByRole('button', { name: 'Make rows' }).click();
  await venueForm.getByRole('button', { name: 'Add a section' }).click();
  await expect.poll(() => venueForm.getByRole('status').textContent()).toBe('120 seats in 2 sections');
  await expectAccessible(page, 'the new venue form');
  await screenshot(page, 'console-new-venue');
  await venueForm.getByRole('button', { name: 'Create the venue' }).click();
  await page.getByText('Lotte Concert Hall (venue').waitFor();
  expect(await page.getByRole('status').textContent()).toMatch(/has 120 seats/);

  // a performance there, VIP repriced, with its report
  await page.getByRole('link', { name: 'Create a performance at Lotte Concert Hall' }).click();
  const scheduleForm = page.getByRole('form', { name: 'New performance' });
  await scheduleForm
    .getByRole('combobox', { name: /^Concert/ })
    .selectOption({ label: 'Autumn Lights — Seoul Strings' });
  await scheduleForm.getByLabel('VIP (₩)').fill('180000');
  await scheduleForm.getByLabel('R (₩)').waitFor();
  await expectAccessible(page, 'the new performance form');
  await screenshot(page, 'console-new-performance');
  await scheduleForm.getByRole('button', { name: 'Create the performance' }).click();
  await page.getByRole('heading', { name: /Autumn Lights/ }).waitFor();
  const scheduleId = Number(new URL(page.url()).hash.split('/')[2]);
  const report = page.getByRole('region', { name: 'Report' });
  await expect.poll(() => report.getByRole('definition').allTextContents()).toEqual(['₩0', '0', '0 of 120']);

  // a fan pays for two VIP seats: the report shows them within its refresh
  expect(await fanBuys(scheduleId, 'VIP', 2)).toBe('360000.00');
  await expect
    .poll(() => report.getByRole('definition').allTextContents(), { timeout: 15_000 })
    .toEqual(['₩360,000', '1', '2 of 120']);
  // the chart's numbers, as a screen reader reads them
  const seats = report.getByRole('table', { name: 'Seats by status' });
  expect(await seats.getByRole('row').allTextContents()).toEqual([
    'StatusSeats',
    'Booked2',
    'Awaiting payment0',
    'Held0',
    'Available118',
    'Total120',
  ]);
  await expectAccessible(page, 'the performance page');
  await screenshot(page, 'console-performance');

  // sales closed, then open again
  await page.getByRole('button', { name: 'Close sales' }).click();
  await page.getByRole('button', { name: 'Open sales' }).waitFor();
  expect((await stack.api.request('GET', `/schedules/${scheduleId}`)).body.status).toBe('closed');
  await page.getByRole('button', { name: 'Open sales' }).click();
  await page.getByRole('button', { name: 'Close sales' }).waitFor();
  expect((await stack.api.request('GET', `/schedules/${scheduleId}`)).body.status).toBe('sales_open');

  // the waiting room, on at 50 a minute
  const room = page.getByRole('region', { name: 'Waiting room' });
  await room.getByLabel('Queue fans').check();
  await room.getByLabel('Fans admitted a minute').fill('50');
  await room.getByRole('button', { name: 'Save the waiting room' }).click();
  await room.getByText('On · 50 fans a minute · 0 joined').waitFor();
  expect((await stack.api.request('GET', `/schedules/${scheduleId}`)).body.waitingRoom).toEqual({
    enabled: true,
  });

  // sales by genre, then by artist
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Sales' }).click();
  const byGenre = page.getByRole('table', { name: 'Revenue by genre' });
  await expect
    .poll(() => byGenre.getByRole('row').allTextContents())
    .toEqual(['GenreRevenue', 'classical₩360,000']);
  await expectAccessible(page, 'the sales report');
  await screenshot(page, 'console-sales');
  await page.getByLabel('Group by').selectOption('artist');
  await page.getByRole('button', { name: 'Show the sales' }).click();
  await expect
    .poll(() =>
      page.getByRole('table', { name: 'Tickets sold by artist' }).getByRole('row').allTextContents(),
    )
    .toEqual(['ArtistTickets', 'Seoul Strings2']);

  // cancelling: sales stop, the paid order is refunded, and the page follows the job to its end
  await page.goto(`/console/#/schedules/${scheduleId}`);
  await page.getByRole('button', { name: 'Cancel the performance…' }).click();
  await page.getByRole('button', { name: 'Yes, cancel it and refund the fans' }).click();
  const cancellation = page.getByRole('region', { name: 'Cancellation' });
  await cancellation.getByText('In progress: 1 order left').waitFor();
  expect(await page.getByRole('button', { name: 'Open sales' }).count()).toBe(0);
  // the canceller's run, which AWS schedules every minute (npm start every 2 s)
  const run = await settleCancelledSchedules(stack.api.sql);
  expect([run.ordersRefunded, run.failed]).toEqual([1, []]);
  await stack.api.settle();
  await cancellation.getByText('Done: every order is cancelled or refunded.').waitFor({ timeout: 20_000 });
  expect(await cancellation.getByRole('definition').allTextContents()).toEqual(['0', '0', '1', '0']);
  await expectAccessible(page, 'a cancelled performance');
  await screenshot(page, 'console-cancelled');

  await page
    .getByRole('navigation', { name: 'Console' })
    .getByRole('link', { name: 'Reconciliation' })
    .click();
  await page.getByText('Nothing to reconcile').waitFor();
  await expectAccessible(page, 'the reconciliation list');
  await screenshot(page, 'console-reconciliation');
}, 180_000);

test('the console shows nothing but the sign-in to a user who is no administrator', async () => {
  // the box signs in administrators only; a fan's token is what a fan's sign-in at the provider gives
  const page = await openApp(stack, '/console/#/sales');
  const token = await stack.api.token('just-a-fan');
  await page.evaluate((t) => localStorage.setItem('ticketing.session', t), token);
  await page.reload();
  await page.getByText('just-a-fan is not an administrator').waitFor();
  expect(await page.getByRole('table').count()).toBe(0);
});
