import { describe, expect, it } from 'vitest';
import { clientOptionsFromEnv } from './config';

describe('database settings', () => {
  it('reads the client options from the environment, with Lambda defaults', () => {
    expect(clientOptionsFromEnv({ DATABASE_URL: 'postgres://u@h/db' })).toEqual({
      url: 'postgres://u@h/db',
      proxyHost: undefined,
      database: 'ticketing',
      user: 'ticketing_app',
      max: 1,
    });
  });

  it('refuses a bad setting by name, and ignores settings that are not the database’s', () => {
    expect(() => clientOptionsFromEnv({ DB_POOL_MAX: '0' })).toThrow(/Invalid configuration: DB_POOL_MAX/);
    expect(clientOptionsFromEnv({ HOLD_TTL_SECONDS: 'soon' }).max).toBe(1);
  });
});
