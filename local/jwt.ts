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

/** The claims of a valid token, or undefined. */
export async function verifyToken(token: string): Promise<JWTPayload | undefined> {
  const { jwks, issuer } = current();
  try {
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience: LOCAL_AUDIENCE,
      algorithms: ['RS256'],
    });
    return payload;
  } catch {
    return undefined;
  }
}
