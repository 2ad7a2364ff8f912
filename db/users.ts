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
  const [row] = await db<{ id: number }[]>`
    with inserted as (
      insert into users (sub, email, name)
      values (${identity.sub}, ${identity.email ?? null}, ${identity.name ?? null})
      on conflict (sub) do nothing
      returning id
    )
    select id from inserted
    union all
    select id from users where sub = ${identity.sub}
    limit 1
  `;
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(identity.sub, row!.id);
  return row!.id;
}

/** Tests drop databases between files; ids cached from one must not leak into the next. */
export function forgetUsers(): void {
  known.clear();
}
