import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  base64url,
  beginSignIn,
  challengeOf,
  completeSignIn,
  createVerifier,
  type OidcSettings,
  SignInError,
  signOutUrl,
} from './auth';

/** sessionStorage as the browser keeps it for one tab. */
class TabStorage implements Storage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

describe('PKCE (RFC 7636)', () => {
  // Appendix B: the example's 32 octets, verifier and S256 challenge
  const octets = new Uint8Array([
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214,
    191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
  ]);

  it('encodes 32 random octets as the 43-character verifier of Appendix B', () => {
    expect(createVerifier(octets)).toBe('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
  });

  it('derives the S256 challenge of Appendix B', async () => {
    expect(await challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes verifiers of the unreserved characters only, 43 long, a new one each time', () => {
    const verifiers = Array.from({ length: 50 }, () => createVerifier());
    expect(verifiers.every((v) => /^[A-Za-z0-9\-._~]{43}$/.test(v))).toBe(true);
    expect(new Set(verifiers).size).toBe(50);
    expect(base64url(new Uint8Array([251, 255]))).toBe('-_8');
  });
});

describe('authorization code sign-in against a token endpoint', () => {
  let server: Server;
  let settings: OidcSettings;
  /** What the provider issued: code → the challenge and redirect it was issued for. */
  const issued = new Map<string, { challenge: string; redirectUri: string; nonce: string }>();
  const token = (claims: Record<string, unknown>) =>
    `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  beforeAll(async () => {
    // the provider's token endpoint: redeems a code once, only with the verifier of its challenge
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => {
        raw += chunk;
      });
      req.on('end', () => {
        const form = new URLSearchParams(raw);
        const grant = issued.get(form.get('code') ?? '');
        issued.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const ok =
          req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
          form.get('grant_type') === 'authorization_code' &&
          form.get('client_id') === 'web-client' &&
          grant &&
          grant.redirectUri === form.get('redirect_uri') &&
          createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
        res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            ok
              ? {
                  access_token: token({ sub: 'fan-1', 'cognito:groups': ['admin'] }),
                  id_token: token({ sub: 'fan-1', nonce: grant.nonce }),
                  token_type: 'Bearer',
                  expires_in: 3600,
                }
              : { error: 'invalid_grant', error_description: 'The code or its verifier is wrong' },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    settings = {
      mode: 'oidc',
      issuer: 'https://issuer.example',
      clientId: 'web-client',
      authorizationEndpoint: 'https://login.example/oauth2/authorize',
      tokenEndpoint: `${base}/oauth2/token`,
      scopes: ['openid', 'email'],
    };
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The provider's login page: the user signs in, it issues a code for the request's challenge. */
  const providerRedirect = (authorizeUrl: string, code = 'code-1', extra: Record<string, string> = {}) => {
    const request = new URL(authorizeUrl).searchParams;
    issued.set(code, {
      challenge: request.get('code_challenge')!,
      redirectUri: request.get('redirect_uri')!,
      nonce: request.get('nonce')!,
    });
    const back = new URL(request.get('redirect_uri')!);
    back.search = new URLSearchParams({ code, state: request.get('state')!, ...extra }).toString();
    return back.toString();
  };

  it('sends the browser to the provider with an S256 challenge, and redeems the code with its verifier', async () => {
    const storage = new TabStorage();
    const authorize = await beginSignIn(settings, {
      app: 'console',
      origin: 'https://d123.cloudfront.net',
      returnTo: '#/reports',
      storage,
    });
    const request = new URL(authorize);
    expect(request.origin + request.pathname).toBe('https://login.example/oauth2/authorize');
    expect(Object.fromEntries(request.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'web-client',
      redirect_uri: 'https://d123.cloudfront.net/console/',
      scope: 'openid email',
      code_challenge_method: 'S256',
    });
    // the verifier never leaves the tab before the code is redeemed
    expect(authorize).not.toContain(JSON.parse(storage.getItem('ticketing.signIn')!).verifier);

    const tokens = await completeSignIn(settings, { url: providerRedirect(authorize), storage });

    expect(tokens?.returnTo).toBe('#/reports');
    expect(tokens?.expiresIn).toBe(3600);
    expect(tokens?.accessToken.split('.')).toHaveLength(3);
    expect(storage.length).toBe(0);
  });

  it('refuses a redirect whose state is not the one this tab sent (login CSRF), without redeeming it', async () => {
    const storage = new TabStorage();
    const authorize = await beginSignIn(settings, {
      app: 'fan',
      origin: 'https://a.example',
      returnTo: '',
      storage,
    });
    const back = new URL(providerRedirect(authorize, 'code-2'));
    back.searchParams.set('state', 'forged');
    await expect(completeSignIn(settings, { url: back.toString(), storage })).rejects.toThrow(SignInError);
    expect(issued.has('code-2')).toBe(true);
    issued.delete('code-2');
  });

  it('refuses a redirect naming another issuer, and a code redeemed with another verifier', async () => {
    const storage = new TabStorage();
    const authorize = await beginSignIn(settings, {
      app: 'fan',
      origin: 'https://a.example',
      returnTo: '',
      storage,
    });
    await expect(
      completeSignIn(settings, {
        url: providerRedirect(authorize, 'code-3', { iss: 'https://evil.example' }),
        storage,
      }),
    ).rejects.toThrow(/another issuer/);

    const second = await beginSignIn(settings, {
      app: 'fan',
      origin: 'https://a.example',
      returnTo: '',
      storage,
    });
    const back = providerRedirect(second, 'code-4');
    // another tab's verifier: the provider refuses the code
    const pending = JSON.parse(storage.getItem('ticketing.signIn')!);
    storage.setItem('ticketing.signIn', JSON.stringify({ ...pending, verifier: createVerifier() }));
    await expect(completeSignIn(settings, { url: back, storage })).rejects.toThrow(/verifier is wrong/);
  });

  it("shows what the provider said when the user refused, and leaves alone pages that are no provider's redirect", async () => {
    const storage = new TabStorage();
    const authorize = await beginSignIn(settings, {
      app: 'fan',
      origin: 'https://a.example',
      returnTo: '',
      storage,
    });
    const state = new URL(authorize).searchParams.get('state')!;
    await expect(
      completeSignIn(settings, {
        url: `https://a.example/?error=access_denied&error_description=User+cancelled&state=${state}`,
        storage,
      }),
    ).rejects.toThrow('User cancelled');
    expect(await completeSignIn(settings, { url: 'https://a.example/#/orders', storage })).toBeUndefined();
    // Toss's fail redirect: `code` and `message`, no state — the order page's, not a sign-in
    await beginSignIn(settings, { app: 'fan', origin: 'https://a.example', returnTo: '', storage });
    expect(
      await completeSignIn(settings, {
        url: 'https://a.example/?code=PAY_PROCESS_CANCELED&message=cancelled#/orders/1/toss-fail',
        storage,
      }),
    ).toBeUndefined();
    expect(storage.getItem('ticketing.signIn')).not.toBeNull();
  });
});

describe('signing out of the provider', () => {
  const settings: OidcSettings = {
    mode: 'oidc',
    issuer: 'https://idp.example',
    clientId: 'web-client',
    authorizationEndpoint: 'https://idp.example/oauth2/authorize',
    tokenEndpoint: 'https://idp.example/oauth2/token',
  };

  it("sends the browser to the provider's logout with the app's way back, in both providers' words", () => {
    const url = new URL(
      signOutUrl(
        { ...settings, endSessionEndpoint: 'https://idp.example/logout' },
        'console',
        'https://app.example',
      )!,
    );
    expect(url.origin + url.pathname).toBe('https://idp.example/logout');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'web-client',
      post_logout_redirect_uri: 'https://app.example/console/',
      logout_uri: 'https://app.example/console/',
    });
  });

  it('has nowhere to send it when the provider has no logout configured', () => {
    expect(signOutUrl(settings, 'fan', 'https://app.example')).toBeUndefined();
  });
});
