import * as z from 'zod/mini';
import { databaseSettings, parseSettings } from '../db/config';
import type { BookingLimits } from './orders';

/**
 * Every setting the service reads, validated once at start-up. The same names exist as
 * Lambda environment variables (set by the CDK stack) and as local environment variables.
 * The database client's own settings are declared beside it (db/config.ts) and checked here too.
 */
const count = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), fallback);
const seconds = (fallback: number) => count(1, 86_400, fallback);
const text = (fallback: string) => z._default(z.string().check(z.minLength(1)), fallback);

export const configSchema = z.object({
  PORT: count(0, 65535, 3000),
  ...databaseSettings,
  HOLD_TTL_SECONDS: seconds(300),
  PAYMENT_TTL_SECONDS: seconds(600),
  SWEEP_INTERVAL_SECONDS: seconds(60),
  MAX_SEATS_PER_ORDER: count(1, 100, 8),
  MAX_SEATS_PER_USER: count(1, 1_000_000, 8),
  PG_WEBHOOK_SECRET: text('local-webhook-secret'),
  /** AWS: the Secrets Manager secret holding the webhook key (PG_WEBHOOK_SECRET is then unused). */
  PG_WEBHOOK_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  PAYMENT_QUEUE_URL: z.optional(z.string()),
  EVENT_BUS_NAME: z.optional(z.string()),
});

export type Config = z.infer<typeof configSchema>;

let cached: Config | undefined;

/** Reads and validates the environment once per process (per Lambda container). */
export function getConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env !== process.env) return parseSettings(configSchema, env);
  cached ??= parseSettings(configSchema, env);
  return cached;
}

/** Tests and the local server change settings between runs. */
export function resetConfig(): void {
  cached = undefined;
}

/** The limits every booking is held to, from the configuration. */
export function bookingLimits(config: Config = getConfig()): BookingLimits {
  return {
    holdTtlSeconds: config.HOLD_TTL_SECONDS,
    paymentTtlSeconds: config.PAYMENT_TTL_SECONDS,
    maxSeatsPerOrder: config.MAX_SEATS_PER_ORDER,
    maxSeatsPerUser: config.MAX_SEATS_PER_USER,
  };
}
