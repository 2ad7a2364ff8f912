import * as z from 'zod';

/**
 * Every setting the service reads, validated once at start-up. The same names exist as
 * Lambda environment variables (set by the CDK stack) and as local environment variables.
 */
const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  /** AWS only: RDS Proxy endpoint reached with an IAM auth token instead of a URL. */
  DB_PROXY_HOST: z.string().optional(),
  DB_NAME: z.string().default('ticketing'),
  DB_USER: z.string().default('ticketing_app'),
  /** Connections per process: 1 in Lambda (one request at a time), more for the local server. */
  DB_POOL_MAX: z.coerce.number().int().positive().max(100).default(1),
  HOLD_TTL_SECONDS: seconds(300),
  PAYMENT_TTL_SECONDS: seconds(600),
  SWEEP_INTERVAL_SECONDS: seconds(60),
  MAX_SEATS_PER_ORDER: z.coerce.number().int().positive().max(100).default(8),
  MAX_SEATS_PER_USER: z.coerce.number().int().positive().max(1_000_000).default(8),
  PG_WEBHOOK_SECRET: z.string().min(1).default('local-webhook-secret'),
  PAYMENT_QUEUE_URL: z.string().optional(),
  EVENT_BUS_NAME: z.string().optional(),
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
