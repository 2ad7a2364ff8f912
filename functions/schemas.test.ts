import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { PriceInput } from './schemas';

describe('PriceInput', () => {
  it('accepts ordinary decimal prices, as strings or numbers', () => {
    // 19.99 * 100 is 1998.9999999999998 in binary floating point: checked as written, not as cents
    const ordinary = ['19.99', '0.29', '1.1', '150000.00', '9999999999.99', 19.99, 0.29, 1.1, 0, 150000];
    for (const price of ordinary)
      expect(z.safeParse(PriceInput, price), String(price)).toMatchObject({
        success: true,
        data: Number(price),
      });
  });

  it('refuses more than two decimal places, negatives, exponents and amounts of 10^10 or more', () => {
    const strings = ['19.999', '-1', '1e3', '', ' 1', '10000000000', '1.'];
    const numbers = [19.999, 0.1 + 0.2, -1, 1e10, Number.NaN];
    for (const price of [...strings, ...numbers])
      expect(z.safeParse(PriceInput, price).success, String(price)).toBe(false);
  });
});
