import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { getConfig } from '../../domain/config';

/** A rotated key is picked up within this time, without a redeploy. */
const CACHE_MS = 5 * 60 * 1000;

export interface GatewaySecrets {
  tossSecretKey: string;
  portoneApiSecret: string;
  portoneWebhookSecret: string;
}

const SecretJson = z.object({
  TOSS_SECRET_KEY: z.string().check(z.minLength(1)),
  PORTONE_API_SECRET: z.string().check(z.minLength(1)),
  PORTONE_WEBHOOK_SECRET: z.string().check(z.minLength(1)),
});

let cached: { value: GatewaySecrets; until: number } | undefined;
let client: SecretsManagerClient | undefined;

/**
 * The gateways' secret keys. In AWS they are one JSON secret in Secrets Manager, read once per
 * container (and again after CACHE_MS): never environment variables, which anyone allowed to read
 * the function's configuration would see. Locally they come from the environment (the simulator's
 * defaults).
 */
export async function gatewaySecrets(now = Date.now()): Promise<GatewaySecrets> {
  const config = getConfig();
  if (!config.GATEWAY_SECRETS_ARN) {
    return {
      tossSecretKey: config.TOSS_SECRET_KEY,
      portoneApiSecret: config.PORTONE_API_SECRET,
      portoneWebhookSecret: config.PORTONE_WEBHOOK_SECRET,
    };
  }
  if (cached && cached.until > now) return cached.value;
  client ??= new SecretsManagerClient({});
  const { SecretString } = await client.send(
    new GetSecretValueCommand({ SecretId: config.GATEWAY_SECRETS_ARN }),
  );
  const parsed = SecretJson.safeParse(JSON.parse(SecretString ?? '{}'));
  if (!parsed.success)
    throw new Error(
      'The gateway secret must be JSON with TOSS_SECRET_KEY, PORTONE_API_SECRET and PORTONE_WEBHOOK_SECRET',
    );
  const value = {
    tossSecretKey: parsed.data.TOSS_SECRET_KEY,
    portoneApiSecret: parsed.data.PORTONE_API_SECRET,
    portoneWebhookSecret: parsed.data.PORTONE_WEBHOOK_SECRET,
  };
  cached = { value, until: now + CACHE_MS };
  return value;
}

/** Tests start from an empty cache. */
export function forgetGatewaySecrets(): void {
  cached = undefined;
}
