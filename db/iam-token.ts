import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: Data) =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 / HMAC-SHA-256 from node:crypto in the shape SignatureV4 expects. */
class Sha256 {
  private readonly hash;
  constructor(secret?: Data) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Data) {
    this.hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * An RDS IAM authentication token: a SigV4-presigned `connect` URL, valid 15 minutes. The same
 * token `@aws-sdk/rds-signer` makes (db/iam-token.test.ts checks it), without its 200 KB of
 * credential-provider chain: in Lambda the execution role's credentials are in the environment.
 */
export async function rdsAuthToken(options: {
  hostname: string;
  port: number;
  username: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}): Promise<string> {
  const credentials = options.credentials ?? {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    sessionToken: process.env.AWS_SESSION_TOKEN,
  };
  const signer = new SignatureV4({
    service: 'rds-db',
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    credentials,
    sha256: Sha256,
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: options.hostname,
      port: options.port,
      path: '/',
      query: { Action: 'connect', DBUser: options.username },
      headers: { host: `${options.hostname}:${options.port}` },
    },
    { expiresIn: 900 },
  );
  const query = Object.entries(presigned.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${options.hostname}:${options.port}/?${query}`;
}
