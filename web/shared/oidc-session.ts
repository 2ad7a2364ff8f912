import { type AppName, beginSignIn, completeSignIn, type OidcSettings, signOutUrl } from './auth';
import { signIn, signOut } from './session';

/**
 * The browser's side of the OIDC sign-in (web/shared/auth.ts does the protocol): where to go to
 * sign in, and what to do when the provider sends the browser back to `/` or `/console/`.
 */
const appOf = (): AppName => (location.pathname.startsWith('/console') ? 'console' : 'fan');

/** Why the last sign-in failed, for the sign-in box to show; undefined when it did not. */
export let signInFailure: string | undefined;

export async function startOidcSignIn(settings: OidcSettings): Promise<void> {
  const url = await beginSignIn(settings, {
    app: appOf(),
    origin: location.origin,
    returnTo: location.hash,
    storage: sessionStorage,
  });
  location.assign(url);
}

/** Forgets the app's token and, where the provider has a logout, ends its session too. */
export function signOutOfProvider(settings: OidcSettings): void {
  signOut();
  const url = signOutUrl(settings, appOf(), location.origin);
  if (url) location.assign(url);
}

/** On the provider's redirect back: redeem the code, sign in, and drop `?code=&state=` from the address. */
export async function finishOidcSignIn(settings: OidcSettings): Promise<void> {
  try {
    const done = await completeSignIn(settings, { url: location.href, storage: sessionStorage });
    if (!done) return;
    signIn(done.accessToken);
    history.replaceState(null, '', `${location.pathname}${done.returnTo}`);
  } catch (error) {
    signInFailure = error instanceof Error ? error.message : 'The sign-in failed';
    history.replaceState(null, '', `${location.pathname}${location.hash}`);
  }
}
