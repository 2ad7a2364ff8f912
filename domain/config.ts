import * as z from 'zod/mini';
import { databaseSettings, parseSettings } from '../db/config';
import type { BookingLimits } from './orders';
import type { WaitlistLimits } from './waitlist-offers';

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
  /** How much longer one extension keeps a hold (POST /orders/{id}/extend, once per order). */
  HOLD_EXTENSION_SECONDS: seconds(120),
  /** How long a wait-list offer waits for its payment (API.md "Second chances"). */
  OFFER_TTL_SECONDS: seconds(600),
  SWEEP_INTERVAL_SECONDS: seconds(60),
  MAX_SEATS_PER_ORDER: count(1, 100, 8),
  MAX_SEATS_PER_USER: count(1, 1_000_000, 8),
  PG_WEBHOOK_SECRET: text('local-webhook-secret'),
  /** AWS: the Secrets Manager secret holding the webhook key (PG_WEBHOOK_SECRET is then unused). */
  PG_WEBHOOK_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  PAYMENT_QUEUE_URL: z.optional(z.string()),
  /** Payment gateways (API.md, "Payment gateways"). The defaults are the real APIs' test mode bases. */
  TOSS_API_BASE: text('https://api.tosspayments.com'),
  TOSS_CLIENT_KEY: text('test_ck_local_simulator'),
  TOSS_SECRET_KEY: text('test_sk_local_simulator'),
  PORTONE_API_BASE: text('https://api.portone.io'),
  PORTONE_API_SECRET: text('local-portone-api-secret'),
  /** Standard Webhooks secret, `whsec_` + base64 (PortOne's console shows it in this form). */
  PORTONE_WEBHOOK_SECRET: text('whsec_bG9jYWwtcG9ydG9uZS13ZWJob29rLXNlY3JldA=='),
  PORTONE_STORE_ID: text('store-local-simulator'),
  PORTONE_CHANNEL_KEY: text('channel-key-local-simulator'),
  /** The built-in gateway's API (refunds of card / kakao / naver); locally the simulator. */
  BUILTIN_PG_API_BASE: text('http://127.0.0.1:3100/builtin'),
  /**
   * AWS: the Secrets Manager secret holding TOSS_SECRET_KEY, PORTONE_API_SECRET and
   * PORTONE_WEBHOOK_SECRET as JSON (the environment variables of those names are then unused).
   */
  GATEWAY_SECRETS_ARN: z.optional(z.string().check(z.minLength(1))),
  /** How long one call to a gateway may take before it is retried, ms. */
  GATEWAY_TIMEOUT_MS: count(100, 60_000, 8000),
  EVENT_BUS_NAME: z.optional(z.string()),
  /** How long an admission from the waiting room lasts (API.md "Waiting room"). */
  ADMISSION_TTL_SECONDS: seconds(600),
  /** HS256 key of the queue and admission tokens: 32 characters at least (256 bits). */
  WAITING_ROOM_SECRET: z._default(
    z.string().check(z.minLength(32)),
    'local-waiting-room-secret-not-for-production',
  ),
  /** AWS: the Secrets Manager secret holding the waiting room key (WAITING_ROOM_SECRET is then unused). */
  WAITING_ROOM_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
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

/** The limits of the wait-list: a booking's, and the offers' own deadline. */
export function waitlistLimits(config: Config = getConfig()): WaitlistLimits {
  return { ...bookingLimits(config), offerTtlSeconds: config.OFFER_TTL_SECONDS };
}
