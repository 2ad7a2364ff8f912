import { Signer } from '@aws-sdk/rds-signer';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rdsAuthToken } from './iam-token';

afterEach(() => vi.useRealTimers());

describe('rdsAuthToken', () => {
  it('makes the same token as @aws-sdk/rds-signer', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-25T12:00:00Z'));
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'FwoGZX+/token==',
    };
    const target = {
      hostname: 'proxy.proxy-abc.ap-northeast-2.rds.amazonaws.com',
      port: 5432,
      username: 'ticketing_app',
      region: 'ap-northeast-2',
    };

    const ours = await rdsAuthToken({ ...target, credentials });
    const theirs = await new Signer({ ...target, credentials }).getAuthToken();

    // same signature over the same parameters (their order in the URL does not matter to AWS)
    const parts = (token: string) => token.split(/[?&]/).sort();
    expect(parts(ours)).toEqual(parts(theirs));
    expect(ours).toMatch(
      /^proxy\.proxy-abc\.ap-northeast-2\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=ticketing_app&/,
    );
  });
});
