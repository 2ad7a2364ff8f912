import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../domain/config';
import { forgetWebhookSecret, webhookSecret } from './webhook-secret';

const secrets = mockClient(SecretsManagerClient);
const saved = { ...process.env };

beforeEach(() => {
  secrets.reset();
  forgetWebhookSecret();
});
afterEach(() => {
  process.env = { ...saved };
  resetConfig();
});

describe('webhookSecret', () => {
  it('reads the key from Secrets Manager in AWS, and again only after 5 minutes', async () => {
    process.env.PG_WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:ap-northeast-2:1:secret:pg-webhook';
    resetConfig();
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'one' }).resolves({ SecretString: 'two' });

    const first = await webhookSecret(0);
    const cached = await webhookSecret(299_000);
    const rotated = await webhookSecret(301_000);

    expect([first, cached, rotated]).toEqual(['one', 'one', 'two']);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({
      SecretId: 'arn:aws:secretsmanager:ap-northeast-2:1:secret:pg-webhook',
    });
  });

  it('is PG_WEBHOOK_SECRET locally, without calling AWS', async () => {
    delete process.env.PG_WEBHOOK_SECRET_ARN;
    process.env.PG_WEBHOOK_SECRET = 'local-key';
    resetConfig();

    expect(await webhookSecret()).toBe('local-key');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
