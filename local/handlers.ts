import type { HandlerRef, RouteModules } from '../functions/handlers';
import * as admin from '../functions/http/admin';
import * as catalog from '../functions/http/catalog';
import * as orders from '../functions/http/orders';
import * as system from '../functions/http/system';
import * as waitingRoom from '../functions/http/waiting-room';
import * as waitlist from '../functions/http/waitlist';
import * as webhooks from '../functions/http/webhooks';
import * as devToken from './dev-token';

/**
 * The handler modules of the route table, by the `handler.file` the table names. Static imports
 * (not `import()` of a computed path) so tsx, vitest and esbuild all resolve them the same way;
 * typed by `RouteModules`, so a module missing here fails `tsc`.
 */
const routeModules: RouteModules = {
  'http/admin': admin,
  'http/catalog': catalog,
  'http/orders': orders,
  'http/system': system,
  'http/webhooks': webhooks,
  'http/waiting-room': waitingRoom,
  'http/waitlist': waitlist,
  '../local/dev-token': devToken,
};

/** The handler a route's reference names. */
export function handlerOf(ref: HandlerRef<keyof RouteModules>): unknown {
  return (routeModules[ref.file] as Record<string, unknown>)[ref.export];
}
