import { useState } from 'preact/hooks';
import { ApiError, api } from './api';
import { useConfig } from './config';
import { signInFailure, signOutOfProvider, startOidcSignIn } from './oidc-session';
import { type Session, signIn, signOut } from './session';

/**
 * The "sign in as" box: locally anyone may be anyone (POST /dev/token). Where the stacks use an
 * identity provider, the OIDC sign-in takes its place (config.auth.mode).
 */
export function SignInBox(props: { admin?: boolean; onSignedIn?: (session: Session) => void }) {
  const [sub, setSub] = useState(props.admin ? 'admin-1' : '');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const settings = useConfig();
  if (!settings) return null;
  const { auth } = settings;
  if (auth.mode === 'oidc')
    return (
      <div class="sign-in">
        <button type="button" onClick={() => void startOidcSignIn(auth)}>
          Sign in
        </button>
        {signInFailure && (
          <p role="alert" class="error">
            {signInFailure}
          </p>
        )}
      </div>
    );

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { token } = await api.devToken({ sub: sub.trim(), admin: props.admin || undefined });
      const session = signIn(token);
      props.onSignedIn?.(session);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail : 'The server could not be reached');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="sign-in" onSubmit={submit} aria-label="Sign in">
      <label>
        Sign in as <span class="hint">(local development: any user name)</span>
        <input
          name="sub"
          value={sub}
          required
          maxLength={255}
          autocomplete="username"
          onInput={(e) => setSub(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy || !sub.trim()}>
        Sign in
      </button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}

export function SessionBadge(props: { session: Session | undefined }) {
  const settings = useConfig();
  if (!props.session) return null;
  const auth = settings?.auth;
  return (
    <span class="session">
      Signed in as <strong>{props.session.name ?? props.session.sub}</strong>{' '}
      <button
        type="button"
        class="link"
        onClick={() => (auth?.mode === 'oidc' ? signOutOfProvider(auth) : signOut())}
      >
        Sign out
      </button>
    </span>
  );
}
