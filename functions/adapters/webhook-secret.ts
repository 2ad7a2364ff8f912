import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getConfig } from '../../domain/config';

/** A changed secret (rotated with the PG) is picked up within this time, without a redeploy. */
const CACHE_MS = 5 * 60 * 1000;

let cached: { value: string; until: number } | undefined;
let client: SecretsManagerClient | undefined;

/**
 * The key PG webhooks are signed with. In AWS it is read from Secrets Manager (never an
 * environment variable, which anyone allowed to read the function's configuration would see);
 * locally it is PG_WEBHOOK_SECRET.
 */
export async function webhookSecret(now = Date.now()): Promise<string> {
  const { PG_WEBHOOK_SECRET_ARN: arn, PG_WEBHOOK_SECRET } = getConfig();
  if (!arn) return PG_WEBHOOK_SECRET;
  if (cached && cached.until > now) return cached.value;
  client ??= new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!SecretString) throw new Error('The webhook secret is empty');
  cached = { value: SecretString, until: now + CACHE_MS };
  return SecretString;
}

/** Tests start from an empty cache. */
export function forgetWebhookSecret(): void {
  cached = undefined;
}
