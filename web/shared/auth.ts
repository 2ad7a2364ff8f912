/**
 * Sign-in in AWS: the OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256) at the identity
 * provider the stacks' JWT authorizer trusts, with Web Crypto and fetch only. The app is a public
 * client: no secret, the code verifier proves that whoever redeems the code started the sign-in.
 * The access token is what the API gets (Cognito's carries `client_id`, which the authorizer checks
 * against its audience, and `cognito:groups`); nothing here verifies a signature — the API does.
 */
export interface OidcSettings {
  mode: 'oidc';
  issuer: string;
  clientId: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  scopes?: string[];
  /** The provider's logout; unset: signing out forgets the app's token only. */
  endSessionEndpoint?: string;
  /** Where the provider sends the browser back, per app (registered with the provider). */
  redirectUris?: Partial<Record<AppName, string>>;
}

export type AppName = 'fan' | 'console';

/** What a sign-in in flight keeps across the provider's redirect (sessionStorage: this tab only). */
interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  /** The app's hash route to come back to (`#/orders`). */
  returnTo: string;
}

export interface Tokens {
  accessToken: string;
  idToken?: string;
  expiresIn?: number;
}

export class SignInError extends Error {}

const PENDING = 'ticketing.signIn';

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random octets, base64url: a 43-character verifier (RFC 7636 §4.1 asks for 43 to 128). */
export function createVerifier(random: Uint8Array = crypto.getRandomValues(new Uint8Array(32))): string {
  return base64url(random);
}

/** code_challenge = BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2, S256). */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export function redirectUriOf(settings: OidcSettings, app: AppName, origin: string): string {
  return settings.redirectUris?.[app] ?? `${origin}${app === 'console' ? '/console/' : '/'}`;
}

/**
 * Where to send the browser to end the provider's session as well, or undefined when the provider
 * has no logout configured. Both the standard `post_logout_redirect_uri` (OIDC RP-initiated
 * logout) and Cognito's `logout_uri` name the way back; each provider ignores the other's.
 */
export function signOutUrl(settings: OidcSettings, app: AppName, origin: string): string | undefined {
  if (!settings.endSessionEndpoint) return undefined;
  const back = redirectUriOf(settings, app, origin);
  const url = new URL(settings.endSessionEndpoint);
  url.search = new URLSearchParams({
    client_id: settings.clientId,
    post_logout_redirect_uri: back,
    logout_uri: back,
  }).toString();
  return url.toString();
}

/**
 * Starts a sign-in: keeps a fresh state, nonce and verifier for this tab and answers the provider's
 * authorization URL to send the browser to.
 */
export async function beginSignIn(
  settings: OidcSettings,
  options: { app: AppName; origin: string; returnTo: string; storage: Storage },
): Promise<string> {
  const pending: PendingSignIn = {
    state: createVerifier(),
    nonce: createVerifier(),
    verifier: createVerifier(),
    redirectUri: redirectUriOf(settings, options.app, options.origin),
    returnTo: options.returnTo,
  };
  options.storage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(settings.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: pending.redirectUri,
    scope: (settings.scopes ?? ['openid']).join(' '),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/**
 * Finishes a sign-in when `url` is the provider's redirect back (`?code=&state=`): checks the state
 * (and the issuer, RFC 9207, when the provider names it), redeems the code with the verifier, checks
 * the ID token's nonce. Answers undefined when `url` is no redirect back from the provider; throws
 * SignInError when it is one that must not be trusted or the provider refused.
 */
export async function completeSignIn(
  settings: OidcSettings,
  options: { url: string; storage: Storage; fetch?: typeof fetch },
): Promise<(Tokens & { returnTo: string }) | undefined> {
  const params = new URL(options.url).searchParams;
  // a provider's answer always carries the state; a payment window's way back (Toss's fail URL has
  // `code` and `message`) does not, and is left to the page it is for
  if (!params.has('state') || (!params.has('code') && !params.has('error'))) return undefined;
  const stored = options.storage.getItem(PENDING);
  options.storage.removeItem(PENDING);
  const pending = stored ? (JSON.parse(stored) as PendingSignIn) : undefined;
  if (!pending || params.get('state') !== pending.state)
    throw new SignInError(
      'This sign-in was not started here (its state does not match): please sign in again',
    );
  if (params.has('error'))
    throw new SignInError(params.get('error_description') ?? `Sign-in refused: ${params.get('error')}`);
  if (params.has('iss') && params.get('iss') !== settings.issuer)
    throw new SignInError('The sign-in came back from another issuer');

  const response = await (options.fetch ?? fetch)(settings.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: settings.clientId,
      code: params.get('code')!,
      redirect_uri: pending.redirectUri,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== 'string')
    throw new SignInError(
      typeof body.error_description === 'string'
        ? body.error_description
        : `The identity provider did not issue a token (${response.status} ${String(body.error ?? '')})`,
    );
  const idToken = typeof body.id_token === 'string' ? body.id_token : undefined;
  if (idToken && claimsOf(idToken).nonce !== pending.nonce)
    throw new SignInError('The ID token was not issued for this sign-in (nonce)');
  return {
    accessToken: body.access_token,
    idToken,
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : undefined,
    returnTo: pending.returnTo,
  };
}

/** The payload of a JWT, unverified. */
export function claimsOf(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}
