import * as z from 'zod/mini';

/**
 * Every setting the service reads, validated once at start-up. The same names exist as
 * Lambda environment variables (set by the CDK stack) and as local environment variables.
 */
const count = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), fallback);
const seconds = (fallback: number) => count(1, 86_400, fallback);
const text = (fallback: string) => z._default(z.string().check(z.minLength(1)), fallback);

export const configSchema = z.object({
  PORT: count(0, 65535, 3000),
  DATABASE_URL: z.optional(z.url()),
  /** AWS only: RDS Proxy endpoint reached with an IAM auth token instead of a URL. */
  DB_PROXY_HOST: z.optional(z.string()),
  DB_NAME: text('ticketing'),
  DB_USER: text('ticketing_app'),
  /** Connections per process: 1 in Lambda (one request at a time), more for the local server. */
  DB_POOL_MAX: count(1, 100, 1),
  HOLD_TTL_SECONDS: seconds(300),
  PAYMENT_TTL_SECONDS: seconds(600),
  SWEEP_INTERVAL_SECONDS: seconds(60),
  MAX_SEATS_PER_ORDER: count(1, 100, 8),
  MAX_SEATS_PER_USER: count(1, 1_000_000, 8),
  PG_WEBHOOK_SECRET: text('local-webhook-secret'),
  PAYMENT_QUEUE_URL: z.optional(z.string()),
  EVENT_BUS_NAME: z.optional(z.string()),
});

export type Config = z.infer<typeof configSchema>;

let cached: Config | undefined;

/** Reads and validates the environment once per process (per Lambda container). */
export function getConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env !== process.env) return parseConfig(env);
  cached ??= parseConfig(env);
  return cached;
}

function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Tests and the local server change settings between runs. */
export function resetConfig(): void {
  cached = undefined;
}
