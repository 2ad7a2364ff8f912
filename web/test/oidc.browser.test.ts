import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { contentSecurityPolicy } from '../../lib/web-stack';
import { issueToken } from '../../local/jwt';
import { expectAccessible, screenshot, startWebStack, type WebStack } from './browser';

/**
 * The sign-in AWS uses, in a real browser: the console in `oidc` mode against a stand-in identity
 * provider (its authorize endpoint signs the user in at once; its token endpoint redeems a code only
 * with the verifier of its challenge, and answers a token the API accepts).
 */
let stack: WebStack;
let provider: Server;
let providerBase: string;
const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
const redeemed: { verifierMatched: boolean }[] = [];

beforeAll(async () => {
  provider = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://provider');
    if (url.pathname === '/oauth2/authorize') {
      const q = url.searchParams;
      const code = randomUUID();
      codes.set(code, {
        challenge: q.get('code_challenge') ?? '',
        redirectUri: q.get('redirect_uri') ?? '',
        clientId: q.get('client_id') ?? '',
      });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state')!);
      res.writeHead(302, { location: back.toString() });
      res.end();
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'content-type, accept',
      });
      res.end();
      return;
    }
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifierMatched =
        !!grant &&
        createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url') === grant.challenge;
      redeemed.push({ verifierMatched });
      const ok =
        verifierMatched && grant.redirectUri === form.get('redirect_uri') && grant.clientId === 'console';
      res.writeHead(ok ? 200 : 400, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
      });
      res.end(
        JSON.stringify(
          ok
            ? {
                access_token: await issueToken({ sub: 'oidc-admin', admin: true }),
                token_type: 'Bearer',
                expires_in: 3600,
              }
            : { error: 'invalid_grant' },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  providerBase = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  stack = await startWebStack(
    {},
    {
      auth: {
        mode: 'oidc',
        issuer: providerBase,
        clientId: 'console',
        authorizationEndpoint: `${providerBase}/oauth2/authorize`,
        tokenEndpoint: `${providerBase}/oauth2/token`,
        scopes: ['openid', 'email'],
      },
    },
  );
});
afterAll(async () => {
  await stack?.close();
  await new Promise<void>((resolve) => provider?.close(() => resolve()));
});

test('an administrator signs in to the console at the identity provider (code + PKCE) and lands where they were, under the deployed CSP', async () => {
  // every answer carries the Content-Security-Policy CloudFront adds in AWS; a violation fails the test
  const context = await stack.browser.newContext({
    baseURL: stack.base,
    viewport: { width: 1280, height: 900 },
  });
  const csp = contentSecurityPolicy(`${providerBase}/oauth2/token`);
  await context.route(`${stack.base}/**`, async (route) => {
    // a navigation drops the page's requests in flight: one whose answer was still being fetched
    // has nobody left to fulfil (a CI run failed on that), and the page that went on never asks
    const response = await route.fetch().catch(() => undefined);
    if (!response) return;
    await route
      .fulfill({ response, headers: { ...response.headers(), 'content-security-policy': csp } })
      .catch(() => {});
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const violations: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) violations.push(m.text());
  });
  await page.goto('/console/#/sales');
  await page.getByRole('heading', { name: 'Console' }).waitFor();
  await expectAccessible(page, 'the console sign-in (OIDC)');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await page.getByText('Signed in as oidc-admin').waitFor();
  await page.getByRole('heading', { name: 'Sales by genre' }).waitFor();
  // the code and state are gone from the address; the hash route is back
  expect(new URL(page.url()).search).toBe('');
  expect(new URL(page.url()).hash).toBe('#/sales');
  expect(redeemed).toEqual([{ verifierMatched: true }]);
  // the provider's token works on the API: the sales report answered
  await page.getByRole('figure', { name: 'Revenue by genre' }).waitFor();
  await screenshot(page, 'console-oidc-signed-in');

  // the rest of the console and the fan app's first page run under the policy too
  await page.goto('/console/#/venues/new');
  await page.getByRole('heading', { name: 'New venue' }).waitFor();
  await page.goto('/console/#/reconciliation');
  await page.getByText('Nothing to reconcile').waitFor();
  const fanPage = await page.goto('/');
  expect(fanPage?.headers()['content-security-policy']).toBe(csp);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  expect(violations).toEqual([]);
  await context.unrouteAll({ behavior: 'ignoreErrors' });
  await context.close();
});
