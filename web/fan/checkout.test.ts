import { describe, expect, it } from 'vitest';
import { paymentChoices } from './checkout';

describe('paymentChoices', () => {
  it('offers Toss only where its payment window is configured', () => {
    const without = paymentChoices({ auth: { mode: 'dev' }, checkout: {} }).map((c) => c.provider);
    const withToss = paymentChoices({
      auth: { mode: 'dev' },
      checkout: { toss: 'https://pay.example/toss' },
    }).map((c) => c.provider);
    expect(without).toEqual(['card', 'kakao', 'naver']);
    expect(withToss).toEqual(['toss', 'card', 'kakao', 'naver']);
  });
});
