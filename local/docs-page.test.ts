import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../functions/routes';
import { serveDocs } from './docs-page';
import { createGateway } from './gateway';

const server = createGateway([], serveDocs);
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('GET /docs (local server)', () => {
  it("serves Scalar's API reference over /openapi.json, its script from this server (works offline)", async () => {
    const page = await fetch(`${base}/docs`);
    const html = await page.text();
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain(`"url":"${routes.openapi.path}"`);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/^\/[^/]/);
    expect(html).not.toMatch(/https?:\/\//);

    const script = await fetch(`${base}${scripts[0]}`);
    const source = await script.text();
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(source).toContain('@scalar/api-reference');
    expect(source).toContain('createApiReference');
  });

  it('leaves every other path to the gateway', async () => {
    const other = await fetch(`${base}/docs/other.js`);
    expect([other.status, other.headers.get('content-type')]).toEqual([404, 'application/problem+json']);
  });
});
