import { useEffect, useState } from 'preact/hooks';
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
let current: WebConfig | undefined;
let loading: Promise<WebConfig> | undefined;

/** Starts loading (once); the app renders meanwhile, so the first API calls need not wait. */
export function loadConfig(): Promise<WebConfig> {
  loading ??= fetch('/config.json', { headers: { accept: 'application/json' } })
    .then(async (response) => (response.ok ? ((await response.json()) as Partial<WebConfig>) : {}))
    // offline or not served: the local defaults
    .catch(() => ({}))
    .then(async (loaded) => {
      const settings: WebConfig = { ...fallback, ...loaded };
      // back from the identity provider (`?code=&state=`): signed in before anyone reads the settings
      if (settings.auth.mode === 'oidc') await finishOidcSignIn(settings.auth);
      current = settings;
      return settings;
    });
  return loading;
}

/** The settings for a component: undefined until loaded, then a re-render. */
export function useConfig(): WebConfig | undefined {
  const [loaded, setLoaded] = useState(current);
  useEffect(() => {
    if (!loaded) void loadConfig().then(setLoaded);
  }, []);
  return loaded;
}
