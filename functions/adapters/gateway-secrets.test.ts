import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../domain/config';
import { forgetGatewaySecrets, gatewaySecrets } from './gateway-secrets';

const secrets = mockClient(SecretsManagerClient);
const saved = { ...process.env };
const ARN = 'arn:aws:secretsmanager:ap-northeast-2:1:secret:gateway-secrets';
const keys = (toss: string) =>
  JSON.stringify({
    TOSS_SECRET_KEY: toss,
    PORTONE_API_SECRET: 'portone-api-secret',
    PORTONE_WEBHOOK_SECRET: 'whsec_cG9ydG9uZQ==',
  });

beforeEach(() => {
  secrets.reset();
  forgetGatewaySecrets();
});
afterEach(() => {
  process.env = { ...saved };
  resetConfig();
});

describe('gatewaySecrets', () => {
  it('reads the JSON secret from Secrets Manager in AWS, and again only after 5 minutes', async () => {
    process.env.GATEWAY_SECRETS_ARN = ARN;
    resetConfig();
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: keys('test_sk_one') })
      .resolves({ SecretString: keys('test_sk_two') });

    const first = await gatewaySecrets(0);
    const cached = await gatewaySecrets(299_000);
    const rotated = await gatewaySecrets(301_000);

    expect(first).toEqual({
      tossSecretKey: 'test_sk_one',
      portoneApiSecret: 'portone-api-secret',
      portoneWebhookSecret: 'whsec_cG9ydG9uZQ==',
    });
    expect([cached.tossSecretKey, rotated.tossSecretKey]).toEqual(['test_sk_one', 'test_sk_two']);
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN },
      { SecretId: ARN },
    ]);
  });

  it('refuses a secret that lacks a key, naming the keys it needs', async () => {
    process.env.GATEWAY_SECRETS_ARN = ARN;
    resetConfig();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ TOSS_SECRET_KEY: 'x' }) });

    await expect(gatewaySecrets(0)).rejects.toThrow(
      /TOSS_SECRET_KEY, PORTONE_API_SECRET and PORTONE_WEBHOOK_SECRET/,
    );
  });

  it('takes the stack\'s placeholder as it is: the gateways refuse it (README "Deploying")', async () => {
    process.env.GATEWAY_SECRETS_ARN = ARN;
    resetConfig();
    // what CloudFormation generates from the data stack's template until the operator replaces it
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        TOSS_SECRET_KEY: 'REPLACE_ME',
        PORTONE_API_SECRET: 'REPLACE_ME',
        PORTONE_WEBHOOK_SECRET: 'REPLACE_ME',
        placeholder: 'k3J9',
      }),
    });

    expect(await gatewaySecrets(0)).toEqual({
      tossSecretKey: 'REPLACE_ME',
      portoneApiSecret: 'REPLACE_ME',
      portoneWebhookSecret: 'REPLACE_ME',
    });
  });

  it('is the environment locally, without calling AWS', async () => {
    delete process.env.GATEWAY_SECRETS_ARN;
    process.env.TOSS_SECRET_KEY = 'test_sk_local';
    process.env.PORTONE_API_SECRET = 'local-api-secret';
    process.env.PORTONE_WEBHOOK_SECRET = 'whsec_bG9jYWw=';
    resetConfig();

    expect(await gatewaySecrets()).toEqual({
      tossSecretKey: 'test_sk_local',
      portoneApiSecret: 'local-api-secret',
      portoneWebhookSecret: 'whsec_bG9jYWw=',
    });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
