import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';

/**
 * The settings the database client reads. They live here, beside the client, because the database
 * layer sits below everything else and may import nothing above it; domain/config.ts folds them
 * into the one configuration the service validates at start-up.
 */
export const databaseSettings = {
  DATABASE_URL: z.optional(z.url()),
  /** AWS only: RDS Proxy endpoint reached with an IAM auth token instead of a URL. */
  DB_PROXY_HOST: z.optional(z.string()),
  DB_NAME: z._default(z.string().check(z.minLength(1)), 'ticketing'),
  DB_USER: z._default(z.string().check(z.minLength(1)), 'ticketing_app'),
  /** Connections per process: 1 in Lambda (one request at a time), more for the local server. */
  DB_POOL_MAX: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 1),
  /**
   * A PEM file of the CAs the proxy's certificate must chain to, instead of RDS Proxy's: for a
   * local PostgreSQL with TLS (the deployment rehearsal). Never set in AWS.
   */
  DB_CA_FILE: z.optional(z.string().check(z.minLength(1))),
};

const databaseSettingsSchema = z.object(databaseSettings);

/** The environment parsed by `schema`, or one error that names every bad setting. */
export function parseSettings<T extends z.ZodMiniType>(schema: T, env: NodeJS.ProcessEnv): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

export interface ClientOptions {
  url?: string;
  /** RDS Proxy host: connect with an IAM auth token minted per connection. */
  proxyHost?: string;
  database?: string;
  user?: string;
  max?: number;
  /** PEM certificates the proxy's certificate must chain to; RDS Proxy's CAs when unset. */
  ca?: string;
  /**
   * Longer than Lambda's budget allows, for pools that open hundreds of connections at once on a
   * busy machine (bench/, the race suite): connecting is not what they measure.
   */
  connectTimeoutSeconds?: number;
}

/** The client's options from the environment (Lambda variables set by the stack, or local ones). */
export function clientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const settings = parseSettings(databaseSettingsSchema, env);
  return {
    url: settings.DATABASE_URL,
    proxyHost: settings.DB_PROXY_HOST,
    database: settings.DB_NAME,
    user: settings.DB_USER,
    max: settings.DB_POOL_MAX,
    ca: settings.DB_CA_FILE ? readFileSync(settings.DB_CA_FILE, 'utf8') : undefined,
  };
}
