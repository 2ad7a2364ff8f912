import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AppError } from '../../domain/errors';
import { sign, signedAdapter } from './pg-webhooks';

const secret = 'shh';
const adapter = signedAdapter(secret);
const body = JSON.stringify({
  eventId: 'e1',
  type: 'payment.succeeded',
  paymentId: 7,
  pgTid: 't',
  amount: '10.00',
  occurredAt: '2026-11-25T10:00:00Z',
});
const now = new Date('2026-11-25T10:00:00Z');
const t = Math.floor(now.getTime() / 1000);

const codeOf = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
    return 'accepted';
  } catch (e) {
    return (e as AppError).code;
  }
};

describe('built-in signed webhook format', () => {
  it('accepts a good signature and returns the parsed event', async () => {
    expect(await adapter.verify({ 'pg-signature': sign(secret, body, t) }, body, now)).toMatchObject({
      kind: 'event',
      event: { eventId: 'e1', paymentId: 7, amount: '10.00' },
    });
  });

  it('accepts within 300 seconds either way and refuses beyond', async () => {
    expect(
      await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, body, t - 300) }, body, now)),
    ).toBe('accepted');
    expect(
      await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, body, t + 300) }, body, now)),
    ).toBe('accepted');
    expect(
      await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, body, t - 301) }, body, now)),
    ).toBe('INVALID_SIGNATURE');
    expect(
      await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, body, t + 301) }, body, now)),
    ).toBe('INVALID_SIGNATURE');
  });

  it('refuses a missing, malformed, wrong-secret or tampered signature', async () => {
    expect(await codeOf(() => adapter.verify({}, body, now))).toBe('INVALID_SIGNATURE');
    expect(await codeOf(() => adapter.verify({ 'pg-signature': 'v1=abc' }, body, now))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(await codeOf(() => adapter.verify({ 'pg-signature': sign('other', body, t) }, body, now))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(
      await codeOf(() =>
        adapter.verify({ 'pg-signature': sign(secret, body, t) }, body.replace('10.00', '11.00'), now),
      ),
    ).toBe('INVALID_SIGNATURE');
    // the signature covers the timestamp too
    const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(await codeOf(() => adapter.verify({ 'pg-signature': `t=${t - 1},v1=${v1}` }, body, now))).toBe(
      'INVALID_SIGNATURE',
    );
  });

  it('verifies the raw bytes, not re-serialised JSON', async () => {
    const spaced = body.replace('"e1"', ' "e1" ');
    expect(await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, body, t) }, spaced, now))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, spaced, t) }, spaced, now))).toBe(
      'accepted',
    );
  });

  it('refuses a signed body that is not JSON (400) or not an event (400)', async () => {
    expect(await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, '{', t) }, '{', now))).toBe(
      'MALFORMED_JSON',
    );
    const wrong = JSON.stringify({ eventId: 'x' });
    expect(await codeOf(() => adapter.verify({ 'pg-signature': sign(secret, wrong, t) }, wrong, now))).toBe(
      'VALIDATION_FAILED',
    );
  });
});
