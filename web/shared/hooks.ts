import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

/** The state of a load: its value, its error, and a way to load again. */
export interface Loaded<T> {
  value: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` whenever `deps` change; a late answer to an old request is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ value?: T; error?: Error; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => current && setState({ value, loading: false }),
      (error: Error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  return { ...state, reload: () => setRound((r) => r + 1) } as Loaded<T>;
}

/** Sets the document's title (what a screen reader announces on a new page). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Concert tickets`;
  }, [title]);
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.detail || error.code;
  return 'Something went wrong: check your connection and try again.';
}
