import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { serveWeb } from '../../local/web';
import { buildWeb } from '../../scripts/build-web';
import { createTestApi, type TestApi } from '../../test/api';
import { SEAT_SIZE, SeatModel } from '../fan/seat-map/model';
import type { VenueLayout } from '../shared/api';
import type { WebConfig } from '../shared/config';

/**
 * The browser tests' world: `npm start`'s stack on a database of the test file (the local gateway
 * serving the API and the freshly built web app on one port, the gateway simulator, the payment
 * and refund queues and the outbox relay running on their own) and Debian's Chromium driven by
 * Playwright. Playwright's own browser download is not used: CI cannot reach its host.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of each page, for people (gitignored; a few are copied to docs/ for the README). */
export const SCREENSHOTS = join(process.cwd(), 'test-results', 'web');

export interface WebStack {
  api: TestApi;
  /** The app's and the API's origin. */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startWebStack(
  env: Record<string, string> = {},
  /** auth: how the app signs in (config.json); the dev-token box unless given. */
  options: { auth?: WebConfig['auth'] } = {},
): Promise<WebStack> {
  // each test file builds its own copy: two files at once must not rebuild one folder under each other
  const dist = await mkdtemp(join(tmpdir(), 'ticketing-web-'));
  await buildWeb({ outdir: dist, minify: false });
  let web: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const api = await createTestApi(env, { serve: (req, res) => web?.(req, res) ?? false });
  web = serveWeb(dist, {
    auth: options.auth ?? { mode: 'dev' },
    checkout: { toss: `${api.simulator.url}/checkout/toss` },
  });
  // what AWS runs on its own, without the test asking: webhooks, the relay, refunds
  let pumping = false;
  const pump = setInterval(async () => {
    if (pumping) return;
    pumping = true;
    await api.pump().catch((error) => console.error('[pump]', error));
    pumping = false;
  }, 200);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // CI runs as root, where Chromium's sandbox cannot start
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    api,
    base: api.apiBase,
    browser,
    async close() {
      clearInterval(pump);
      await browser.close();
      await api.close();
      await rm(dist, { recursive: true, force: true });
    },
  };
}

/** A fresh browser context (its own storage: its own signed-in fan) on the app. */
export async function openApp(stack: WebStack, path = '/'): Promise<Page> {
  const context = await stack.browser.newContext({
    baseURL: stack.base,
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  // generous: two cores shared by PostgreSQL, the server, Chromium and other test files
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => console.error('[browser]', error));
  await page.goto(path);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `accessibility of ${label}`).toEqual([]);
}

/** Signs a fan in through the app's "sign in as" box. */
export async function signInAs(page: Page, sub: string): Promise<void> {
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel(/Sign in as/).fill(sub);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${sub}`).waitFor();
}

/** The app's own seat model of a venue, to find where a seat is drawn. */
export async function seatModel(stack: WebStack, venueId: number): Promise<SeatModel> {
  const layout = await stack.api.request<VenueLayout>('GET', `/venues/${venueId}/layout`);
  return new SeatModel(layout.body);
}

/** Clicks a seat on the map's canvas, where the map draws it now. */
export async function clickSeat(page: Page, model: SeatModel, seatId: number): Promise<void> {
  const canvas = page.locator('canvas[aria-roledescription="seat map"]');
  const view = await canvas.getAttribute('data-view');
  const [scale, x, y] = view!.split(' ').map(Number) as [number, number, number];
  const index = model.indexOf(seatId);
  expect(index).toBeGreaterThanOrEqual(0);
  const position = {
    x: x + (model.seatX[index]! + SEAT_SIZE / 2) * scale,
    y: y + (model.seatY[index]! + SEAT_SIZE / 2) * scale,
  };
  const box = (await canvas.boundingBox())!;
  expect(position.x, 'the seat is in sight').toBeLessThan(box.width);
  expect(position.y, 'the seat is in sight').toBeLessThan(box.height);
  await canvas.click({ position });
}

/** Opens a schedule's page and waits for its seat map to be drawn with the seats' statuses. */
export async function openSeatMap(page: Page, scheduleId: number): Promise<void> {
  await page.goto(`/#/schedules/${scheduleId}`);
  try {
    await page.waitForFunction(() => document.body.dataset.seatMap === 'ready');
  } catch (error) {
    await screenshot(page, `failed-seat-map-${scheduleId}`);
    console.log(
      await page.evaluate(() => [
        location.href,
        document.body.dataset.seatMap,
        document.querySelector('main')?.textContent,
      ]),
    );
    throw error;
  }
}
