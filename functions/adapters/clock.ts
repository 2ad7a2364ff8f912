/**
 * The time the waiting room goes by in the HTTP handlers (admission, token lifetimes, the
 * admission cache). Tests move it instead of sleeping.
 */
let clock: () => Date = () => new Date();

export const now = (): Date => clock();

/** Tests: a clock of their own; undefined puts the real one back. */
export function useClock(fn: (() => Date) | undefined): void {
  clock = fn ?? (() => new Date());
}
