/**
 * Typed references to Lambda handlers. A reference is the module's path under functions/ (the
 * esbuild entry of its Lambda) and the export's name, and `tsc` checks that the module exports it.
 * Everything here is types except `handlersIn`: the modules are never imported at run time, so a
 * Lambda bundle holds its own handler module and no other.
 */

/** The modules the route table (functions/routes.ts) points into. */
export interface RouteModules {
  'http/admin': typeof import('./http/admin');
  'http/catalog': typeof import('./http/catalog');
  'http/orders': typeof import('./http/orders');
  'http/system': typeof import('./http/system');
  'http/webhooks': typeof import('./http/webhooks');
  'http/waiting-room': typeof import('./http/waiting-room');
  'http/waitlist': typeof import('./http/waitlist');
  '../local/dev-token': typeof import('../local/dev-token');
}

/** The modules the background table (functions/background.ts) points into. */
export interface BackgroundModules {
  'payment-processor': typeof import('./payment-processor');
  'refund-worker': typeof import('./refund-worker');
  'gateway-check': typeof import('./gateway-check');
  sweeper: typeof import('./sweeper');
  'schedule-canceller': typeof import('./schedule-canceller');
  'outbox-relay': typeof import('./outbox-relay');
  'waiting-room-advancer': typeof import('./waiting-room-advancer');
  migrate: typeof import('./migrate');
}

export type HandlerModules = RouteModules & BackgroundModules;

export interface HandlerRef<F extends keyof HandlerModules = keyof HandlerModules> {
  /** Path under functions/ without extension: the Lambda's esbuild entry. */
  file: F;
  /** The exported handler: the Lambda's handler name. */
  export: string;
}

/**
 * `handlersIn('http/catalog')('listConcerts')`: a reference `tsc` rejects when the module is
 * missing or does not export that name (only the export's name is checked, not its type: checking
 * the type would make the route table depend on the handlers that depend on it).
 */
export function handlersIn<F extends keyof HandlerModules>(file: F) {
  return <E extends keyof HandlerModules[F] & string>(name: E): HandlerRef<F> & { export: E } => ({
    file,
    export: name,
  });
}
