const won = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'KRW' });
const when = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

/** A decimal string of the API ("198000.00") as money. */
export const money = (amount: string | number): string => won.format(Number(amount));
export const dateTime = (iso: string): string => when.format(new Date(iso));

/** "4:05" or "1:02:03". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const text = parts.map((n) => String(n).padStart(2, '0'));
  return parts[0] ? text.join(':') : `${parts[1]}:${text[2]}`;
}

/** "about 3 minutes" — for estimates, which should not pretend to be exact. */
export function roughly(seconds: number): string {
  if (seconds < 60) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `about ${Math.round(minutes / 60)} hours`;
}
