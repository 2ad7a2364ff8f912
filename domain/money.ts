/**
 * Money is a decimal string with two places ("150000.00"). Arithmetic happens in integer cents
 * so that no float rounding ever reaches an amount.
 */
export const toCents = (amount: string | number): number => Math.round(Number(amount) * 100);
export const fromCents = (cents: number): string => (cents / 100).toFixed(2);
export const sumMoney = (amounts: string[]): string => fromCents(amounts.reduce((n, a) => n + toCents(a), 0));
export const sameAmount = (a: string, b: string): boolean => toCents(a) === toCents(b);
