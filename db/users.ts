import type { Db } from './client';

export interface Identity {
  sub: string;
  email?: string;
  name?: string;
}

// sub → users.id for this container: a user row never changes its id, so one insert-or-read per
// user per container is enough. Bounded so a long-lived process cannot grow it without end.
const known = new Map<string, number>();
const KNOWN_MAX = 10_000;

/** The user's id, creating the row the first time a token's `sub` is seen. */
export async function ensureUser(db: Db, identity: Identity): Promise<number> {
  const cached = known.get(identity.sub);
  if (cached !== undefined) return cached;
  // DO UPDATE (not DO NOTHING + select): when two first requests of one user race, the loser's
  // select would use a snapshot from before the winner committed and find no row; DO UPDATE
  // waits for the winner and returns its row. It only runs until the id is cached.
  const [row] = await db<{ id: number }[]>`
    insert into users (sub, email, name)
    values (${identity.sub}, ${identity.email ?? null}, ${identity.name ?? null})
    on conflict (sub) do update set email = coalesce(excluded.email, users.email), name = coalesce(excluded.name, users.name)
    returning id
  `;
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(identity.sub, row!.id);
  return row!.id;
}

/** Tests drop databases between files; ids cached from one must not leak into the next. */
export function forgetUsers(): void {
  known.clear();
}
