import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../domain/config';
import { forgetWaitingRoomSecret, waitingRoomSecret } from './waiting-room-secret';

const secrets = mockClient(SecretsManagerClient);
const saved = { ...process.env };
const ARN = 'arn:aws:secretsmanager:ap-northeast-2:1:secret:waiting-room';
const KEY = (c: string) => c.repeat(48);

beforeEach(() => {
  secrets.reset();
  forgetWaitingRoomSecret();
});
afterEach(() => {
  process.env = { ...saved };
  resetConfig();
});

describe('waitingRoomSecret', () => {
  it('reads the key from Secrets Manager in AWS once per container, and again only after 5 minutes', async () => {
    process.env.WAITING_ROOM_SECRET_ARN = ARN;
    resetConfig();
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: KEY('a') })
      .resolves({ SecretString: KEY('b') });

    const first = await waitingRoomSecret(0);
    const cached = await waitingRoomSecret(299_000);
    const rotated = await waitingRoomSecret(301_000);

    expect([first, cached, rotated]).toEqual([KEY('a'), KEY('a'), KEY('b')]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN });
  });

  it('refuses a key shorter than 256 bits', async () => {
    process.env.WAITING_ROOM_SECRET_ARN = ARN;
    resetConfig();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });

    await expect(waitingRoomSecret(0)).rejects.toThrow(/shorter than 32 characters/);
  });

  it('is WAITING_ROOM_SECRET locally, without calling AWS', async () => {
    delete process.env.WAITING_ROOM_SECRET_ARN;
    process.env.WAITING_ROOM_SECRET = KEY('l');
    resetConfig();

    expect(await waitingRoomSecret()).toBe(KEY('l'));
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});
