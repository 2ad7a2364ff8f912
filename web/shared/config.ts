import type { OidcSettings } from './auth';
import { finishOidcSignIn } from './oidc-session';

/**
 * What differs between `npm start` and a deployment, read at start from `/config.json` (the local
 * server answers it; in AWS the stack writes it next to the app). Missing fields take the local
 * defaults, so the app also runs from a plain static server in front of `npm start`.
 */
export interface WebConfig {
  /**
   * How a user signs in: `dev` — the local "sign in as" box (POST /dev/token); `oidc` — the
   * identity provider the stacks are configured with (authorization code + PKCE).
   */
  auth: { mode: 'dev' } | OidcSettings;
  /** The payment windows: the provider's pages, or locally the gateway simulator's stand-ins. */
  checkout: {
    /**
     * Toss's payment window (requestPayment's redirect flow). The built-in gateway (card, kakao,
     * naver) names its window in the payment's `checkout.checkoutUrl`.
     */
    toss?: string;
  };
}

const fallback: WebConfig = { auth: { mode: 'dev' }, checkout: {} };
let current: WebConfig = fallback;

export async function loadConfig(): Promise<WebConfig> {
  try {
    const response = await fetch('/config.json', { headers: { accept: 'application/json' } });
    if (response.ok) current = { ...fallback, ...((await response.json()) as Partial<WebConfig>) };
  } catch {
    // offline or not served: the local defaults
  }
  // back from the identity provider (`?code=&state=`): signed in before the app draws anything
  if (current.auth.mode === 'oidc') await finishOidcSignIn(current.auth);
  return current;
}

export const config = (): WebConfig => current;
