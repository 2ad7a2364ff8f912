import { afterAll, beforeAll, expect, test } from 'vitest';
import { createConcert } from '../../domain/catalog';
import { expectAccessible, openApp, screenshot, startWebStack, type WebStack } from './browser';

let stack: WebStack;
beforeAll(async () => {
  stack = await startWebStack();
  await createConcert(stack.api.sql, {
    title: 'Spring Rock Fest',
    artist: 'The Seoul Riders',
    genre: 'rock',
    description: 'Three hours of loud guitars.',
    runtimeMinutes: 180,
  });
  await createConcert(stack.api.sql, { title: 'Jazz Night', artist: 'Han River Quartet', genre: 'jazz' });
});
afterAll(() => stack?.close());

test('the fan app at / lists the concerts and filters them by genre, and the console answers at /console/', async () => {
  const page = await openApp(stack);
  await expect
    .poll(() => page.getByRole('heading', { level: 2 }).allTextContents())
    .toEqual(['Spring Rock Fest', 'Jazz Night']);
  await expectAccessible(page, 'the concert list');
  await screenshot(page, 'concerts');

  await page.getByLabel('Genre').fill('jazz');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect.poll(() => page.getByRole('heading', { level: 2 }).allTextContents()).toEqual(['Jazz Night']);
  expect(new URL(page.url()).hash).toBe('#/concerts?genre=jazz');

  // the API is still the API beside the app
  const concerts = await page.request.get('/concerts');
  expect(concerts.headers()['content-type']).toContain('application/json');

  await page.goto('/console/');
  await page.getByRole('heading', { name: 'Console' }).waitFor();
  await expectAccessible(page, 'the console');
});
