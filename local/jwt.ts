import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

/**
 * A stand-in for the identity provider: an RS256 key made at start, published as a JWKS, and a
 * verifier with the checks API Gateway's JWT authorizer makes (signature, issuer, audience,
 * expiry; only RS256, so `alg: none` and HMAC tokens are refused).
 */
export const LOCAL_AUDIENCE = 'ticketing-api';

interface KeyState {
  privateKey: CryptoKey;
  jwks: ReturnType<typeof createLocalJWKSet>;
  issuer: string;
}
let state: KeyState | undefined;

export async function initLocalIssuer(issuer: string): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'local-1', alg: 'RS256', use: 'sig' };
  state = { privateKey, jwks: createLocalJWKSet({ keys: [jwk] }), issuer };
}

function current(): KeyState {
  if (!state) throw new Error('initLocalIssuer() was not called');
  return state;
}

export interface TokenRequest {
  sub: string;
  email?: string;
  name?: string;
  admin?: boolean;
  /** Seconds; default one hour. */
  expiresIn?: number;
  /** Tests only: mint a token this gateway must refuse. */
  issuer?: string;
  audience?: string;
}

export async function issueToken(request: TokenRequest): Promise<string> {
  const { privateKey, issuer } = current();
  const claims: JWTPayload = { email: request.email, name: request.name };
  if (request.admin) claims['cognito:groups'] = ['admin'];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'local-1' })
    .setSubject(request.sub)
    .setIssuer(request.issuer ?? issuer)
    .setAudience(request.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (request.expiresIn ?? 3600))
    .sign(privateKey);
}

/**
 * Tokens already verified with the current key, until they expire. The local server plays API
 * Gateway's authorizer for every request of a fan who polls every 2 s: an RS256 verification per
 * request was the largest part of its CPU in the on-sale bench, work AWS does outside the Lambdas.
 */
const verified = new Map<string, { payload: JWTPayload; state: KeyState }>();
const MAX_VERIFIED = 50_000;

/** The claims of a valid token, or undefined. */
export async function verifyToken(token: string): Promise<JWTPayload | undefined> {
  const key = current();
  const known = verified.get(token);
  if (known?.state === key && (known.payload.exp ?? 0) * 1000 > Date.now()) return known.payload;
  try {
    const { payload } = await jwtVerify(token, key.jwks, {
      issuer: key.issuer,
      audience: LOCAL_AUDIENCE,
      algorithms: ['RS256'],
    });
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(token, { payload, state: key });
    return payload;
  } catch {
    return undefined;
  }
}
