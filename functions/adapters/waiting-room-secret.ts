import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getConfig } from '../../domain/config';

/** A changed key is picked up within this time, without a redeploy. */
const CACHE_MS = 5 * 60 * 1000;

let cached: { value: string; until: number } | undefined;
let client: SecretsManagerClient | undefined;

/**
 * The key the waiting room signs queue and admission tokens with (HS256). In AWS it is read from
 * Secrets Manager once per container (and again after 5 minutes), never an environment variable,
 * which anyone allowed to read the function's configuration would see; locally it is
 * WAITING_ROOM_SECRET.
 */
export async function waitingRoomSecret(now = Date.now()): Promise<string> {
  const { WAITING_ROOM_SECRET_ARN: arn, WAITING_ROOM_SECRET } = getConfig();
  if (!arn) return WAITING_ROOM_SECRET;
  if (cached && cached.until > now) return cached.value;
  client ??= new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  // HS256 wants 256 bits at least; a shorter key would make every token guessable
  if (!SecretString || SecretString.length < 32)
    throw new Error('The waiting room key is shorter than 32 characters');
  cached = { value: SecretString, until: now + CACHE_MS };
  return SecretString;
}

/** Tests start from an empty cache. */
export function forgetWaitingRoomSecret(): void {
  cached = undefined;
}
