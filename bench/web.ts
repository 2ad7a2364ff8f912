import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import type { Sql } from '../db/client';
import { WEB_DIST } from '../scripts/build-web';
import { SEAT_SIZE, SeatModel } from '../web/fan/seat-map/model';
import type { VenueLayout } from '../web/shared/api';
import { seedLargeSchedule } from './data';
import { log, median, round, SIZE, startServer } from './harness';
import { sellHalf } from './seat-map';

/**
 * `npm run bench -- web`: the fan app's seat map of a 50,000-seat stadium (half sold) in headless
 * Chromium (Debian's, as the browser tests use), through `npm start`'s server.
 *
 * `interactiveMs`: from navigation start to the first frame of the map drawn with every seat's
 * status, its handlers attached (the app's `seat-map-interactive` mark) — a fresh browser context
 * each time, so nothing is cached; median and worst of 5 after a warm-up.
 * `clickMs`: a click on a seat until the map is repainted with it selected. `bundleGzipBytes`: the fan app's
 * scripts and styles, gzipped.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LOADS = 5;

export async function webApp(url: string, admin: Sql) {
  log('web: the 50,000-seat map in Chromium');
  const { scheduleId, venueId } = await seedLargeSchedule(admin, { seats: SIZE.seatMapSeats, schedules: 1 });
  await sellHalf(admin, scheduleId);
  const { base, child } = await startServer(url);
  const model = new SeatModel(
    (await (await fetch(`${base}/venues/${venueId}/layout`)).json()) as VenueLayout,
  );
  const firstSection = model.sections[0]!;
  const row = model.rows[firstSection.rows[10]!]!;
  const target = row.first + Math.floor(row.count / 2);
  const seat = model.seat(target);
  const name = `${seat.section} row ${seat.rowLabel} seat ${seat.number},`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const interactive: number[] = [];
    const clicks: number[] = [];
    const phases = {
      script: [] as number[],
      schedule: [] as number[],
      layout: [] as number[],
      status: [] as number[],
    };
    for (let i = 0; i <= LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${base}/#/schedules/${scheduleId}`);
      await page.waitForFunction(() => document.body.dataset.seatMap === 'ready', undefined, {
        timeout: 30_000,
      });
      const ms = await page.evaluate(
        () => performance.getEntriesByName('seat-map-interactive')[0]!.startTime,
      );
      // when each request the map waits for had its answer (ms from navigation start)
      const answered = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .map((e) => [new URL(e.name).pathname, (e as PerformanceResourceTiming).responseEnd] as const),
      );
      const at = (pattern: RegExp) =>
        Math.max(0, ...answered.flatMap(([path, end]) => (pattern.test(path) ? [end] : [])));
      // a seat in the middle of the first section, clicked where the map draws it
      const canvas = page.locator('canvas[aria-roledescription="seat map"]');
      const [scale, x, y] = (await canvas.getAttribute('data-view'))!.split(' ').map(Number) as [
        number,
        number,
        number,
      ];
      // the map's coordinates start inside the canvas's border
      const box = await canvas.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return { x: r.left + el.clientLeft, y: r.top + el.clientTop };
      });
      // from the click's pointerup to the map repainted with the seat selected (the paint rewrites
      // data-view); installed, and awaited, before the click, so that it cannot miss it
      await page.evaluate(() => {
        const el = document.querySelector('canvas[aria-roledescription="seat map"]')!;
        const probe = window as unknown as { repainted?: Promise<number> };
        probe.repainted = new Promise<number>((resolve) => {
          let clicked = 0;
          el.addEventListener('pointerup', () => (clicked = performance.now()), {
            capture: true,
            once: true,
          });
          const observer = new MutationObserver(() => {
            if (!clicked) return;
            observer.disconnect();
            resolve(performance.now() - clicked);
          });
          observer.observe(el, { attributes: true, attributeFilter: ['data-view'] });
          // no repaint at all is a failure to see, not a hang
          setTimeout(() => resolve(Number.NaN), 10_000);
        });
      });
      await page.mouse.click(
        box.x + x + (model.seatX[target]! + SEAT_SIZE / 2) * scale,
        box.y + y + (model.seatY[target]! + SEAT_SIZE / 2) * scale,
      );
      const clickMs = await page.evaluate(
        () => (window as unknown as { repainted: Promise<number> }).repainted,
      );
      await page.locator('#seat-map-cursor').filter({ hasText: name }).waitFor({ timeout: 10_000 });
      if (i > 0) {
        interactive.push(ms);
        phases.script.push(at(/^\/assets\/.*\.js$/));
        phases.schedule.push(at(/^\/schedules\/\d+$/));
        phases.layout.push(at(/\/layout$/));
        phases.status.push(at(/\/seat-status$/));
        clicks.push(clickMs);
      }
      await context.close();
    }
    const web = {
      seats: SIZE.seatMapSeats,
      loads: LOADS,
      interactiveMs: round(median(interactive)),
      interactiveMaxMs: round(Math.max(...interactive)),
      clickMs: round(median(clicks)),
      // medians of when the scripts, the schedule, the layout and the first seat status had arrived
      answeredMs: Object.fromEntries(Object.entries(phases).map(([name, ms]) => [name, round(median(ms))])),
      bundleGzipBytes: await bundleBytes(),
    };
    log(`web: interactive in ${web.interactiveMs} ms (worst ${web.interactiveMaxMs} ms)`);
    return web;
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
}

/** The fan app's own files (scripts and styles, not source maps), gzipped as a CDN would send them. */
async function bundleBytes(): Promise<number> {
  const assets = join(WEB_DIST, 'assets');
  const html = await readFile(join(WEB_DIST, 'index.html'), 'utf8');
  let bytes = gzipSync(html).length;
  for (const file of await readdir(assets)) {
    if (file.endsWith('.map') || file.startsWith('console-')) continue;
    bytes += gzipSync(await readFile(join(assets, file))).length;
  }
  return bytes;
}
