import { describe, expect, it } from 'vitest';
import { backgroundEntries } from './background';
import { handlersIn } from './handlers';
import { routeEntries } from './routes';

describe('handler references', () => {
  it('name an export tsc knows; a renamed export is a type error', () => {
    // @ts-expect-error: http/catalog has no `listConcert` (`npm run typecheck` fails if it ever does)
    const misspelt = handlersIn('http/catalog')('listConcert');

    expect(misspelt).toEqual({ file: 'http/catalog', export: 'listConcert' });
  });

  it('resolve to a function for every route and background entry', async () => {
    for (const [name, def] of [...routeEntries, ...backgroundEntries]) {
      const module = (await import(`./${def.handler.file}.ts`)) as Record<string, unknown>;
      expect([name, typeof module[def.handler.export]]).toEqual([name, 'function']);
    }
  });

  it('declare the database wherever the middleware needs it (callers and idempotency keys)', () => {
    for (const [name, route] of routeEntries) {
      if (route.auth === 'customer' || route.auth === 'admin' || route.idempotent) {
        expect([name, route.needs]).toEqual([name, expect.arrayContaining(['database'])]);
      }
    }
  });
});

describe('waiting room admission', () => {
  it('is checked only by routes that declare the key and the database it needs', () => {
    for (const [name, route] of routeEntries.filter(([, r]) => r.admission)) {
      expect([name, route.needs]).toEqual([name, expect.arrayContaining(['database', 'waitingRoomSecret'])]);
    }
  });
});
