import { useEffect, useState } from 'preact/hooks';
import { useTokenSource } from './api';

/**
 * Who is signed in: the bearer token (from the dev token box locally, the identity provider in
 * AWS) in localStorage, and what its claims say. Components follow it with useSession().
 */
export interface Session {
  token: string;
  sub: string;
  name?: string;
  admin: boolean;
  /** Unix seconds. */
  expiresAt: number;
}

const KEY = 'ticketing.session';
const listeners = new Set<(session: Session | undefined) => void>();

/** The claims of a JWT, unverified: the API verifies it; the app only shows who you are. */
export function sessionOf(token: string): Session {
  const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<
    string,
    unknown
  >;
  const groups = payload['cognito:groups'] ?? payload.groups;
  return {
    token,
    sub: String(payload.sub),
    name: typeof payload.name === 'string' ? payload.name : undefined,
    admin: Array.isArray(groups) ? groups.includes('admin') : groups === 'admin',
    expiresAt: Number(payload.exp ?? 0),
  };
}

export function currentSession(): Session | undefined {
  const stored = localStorage.getItem(KEY);
  if (!stored) return undefined;
  try {
    const session = sessionOf(stored);
    return session.expiresAt * 1000 > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

export function signIn(token: string): Session {
  localStorage.setItem(KEY, token);
  const session = sessionOf(token);
  for (const listener of listeners) listener(session);
  return session;
}

export function signOut(): void {
  localStorage.removeItem(KEY);
  for (const listener of listeners) listener(undefined);
}

export function useSession(): Session | undefined {
  const [session, setSession] = useState(currentSession);
  useEffect(() => {
    listeners.add(setSession);
    const onStorage = (e: StorageEvent) => e.key === KEY && setSession(currentSession());
    addEventListener('storage', onStorage);
    // a sign-in between the first render and this effect
    if (currentSession()?.token !== session?.token) setSession(currentSession());
    return () => {
      listeners.delete(setSession);
      removeEventListener('storage', onStorage);
    };
  }, []);
  return session;
}

// a refused token (expired, or from a server restarted with a new key) signs the user out
useTokenSource(() => currentSession()?.token, signOut);
