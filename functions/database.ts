import { getSql, type Sql } from '../db/client';
import type { Need } from './needs';

/**
 * The database of a function that declares the `database` need. A function that does not declare
 * it gets no database settings in AWS, so calling `getSql()` there would fail only in AWS; here it
 * gets a stand-in that fails the same way everywhere, with a message that names the fix.
 */
export function databaseFor(def: { needs: readonly Need[] }, what: string): Sql {
  if (def.needs.includes('database')) return getSql();
  const fail = () => {
    throw new Error(`${what} uses the database but does not declare the 'database' need`);
  };
  return new Proxy(() => {}, { apply: fail, get: fail }) as unknown as Sql;
}
