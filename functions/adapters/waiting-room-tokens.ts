import { jwtVerify, SignJWT } from 'jose';
import { getConfig } from '../../domain/config';
import { waitingRoomSecret } from './waiting-room-secret';

/**
 * The waiting room's two tokens, HS256 JWTs signed with the room's key (jose). A queue token says
 * which position a fan holds in a schedule's queue, so a poll reads the position from it, not from
 * the database; an admission token lets that fan order seats of that schedule for
 * ADMISSION_TTL_SECONDS. Both are bound to the fan (`sub`, the customer token's subject) and to the
 * schedule; each kind has its own audience, so one never passes for the other.
 */
const ISSUER = 'ticketing/waiting-room';
const QUEUE = 'waiting-room:queue';
const ADMISSION = 'waiting-room:admission';
/** A queue outlasts no on-sale day; joining again gives the same position with a fresh token. */
const QUEUE_TOKEN_SECONDS = 24 * 3600;

export interface Binding {
  /** The customer token's subject. */
  sub: string;
  scheduleId: number;
}

let key: { secret: string; cryptoKey: Promise<CryptoKey> } | undefined;

/**
 * The key as a CryptoKey, imported once per secret: handed raw bytes, jose imports them again for
 * every token it signs or verifies, on every poll.
 */
async function signingKey(): Promise<CryptoKey> {
  const secret = await waitingRoomSecret();
  if (key?.secret !== secret) {
    const cryptoKey = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    key = { secret, cryptoKey };
  }
  return key.cryptoKey;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

async function sign(audience: string, claims: Record<string, unknown>, sub: string, now: Date, ttl: number) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setSubject(sub)
    .setIssuedAt(seconds(now))
    .setExpirationTime(seconds(now) + ttl)
    .sign(await signingKey());
}

/** The claims of a token of this kind for this fan and schedule, or undefined for any other. */
async function verify(token: string, audience: string, { sub, scheduleId }: Binding, now: Date) {
  try {
    const { payload } = await jwtVerify(token, await signingKey(), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience,
      subject: sub,
      currentDate: now,
      requiredClaims: ['exp', 'sid'],
    });
    return payload.sid === scheduleId ? payload : undefined;
  } catch {
    // forged, expired, malformed, another kind: all the same to the caller
    return undefined;
  }
}

export function signQueueToken(binding: Binding, position: number, now: Date): Promise<string> {
  return sign(QUEUE, { sid: binding.scheduleId, pos: position }, binding.sub, now, QUEUE_TOKEN_SECONDS);
}

/** The position a valid queue token of this fan and schedule holds. */
export async function positionOf(token: string, binding: Binding, now: Date): Promise<number | undefined> {
  const pos = (await verify(token, QUEUE, binding, now))?.pos;
  return Number.isSafeInteger(pos) && (pos as number) > 0 ? (pos as number) : undefined;
}

export function signAdmissionToken(binding: Binding, now: Date): Promise<string> {
  return sign(ADMISSION, { sid: binding.scheduleId }, binding.sub, now, getConfig().ADMISSION_TTL_SECONDS);
}

export async function isAdmitted(token: string, binding: Binding, now: Date): Promise<boolean> {
  return (await verify(token, ADMISSION, binding, now)) !== undefined;
}
