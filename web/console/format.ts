/** How the console writes money and times: won without decimals when whole, local times. */
export function won(amount: string | number): string {
  const value = Number(amount);
  return `₩${value.toLocaleString('en', { maximumFractionDigits: Number.isInteger(value) ? 0 : 2 })}`;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** A `datetime-local` input's value (local time) as the API's ISO-8601 UTC string. */
export function isoOfLocal(value: string): string {
  return new Date(value).toISOString();
}

/** An ISO time as a `datetime-local` input's value (local time, minutes). */
export function localOfIso(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export const STATUS_TEXT: Record<string, string> = {
  sales_open: 'On sale',
  closed: 'Sales closed',
  cancelled: 'Cancelled',
};

/** Sets the document's title, which a screen reader announces on a new page. */
export function pageTitle(title: string): void {
  document.title = `${title} · Ticketing console`;
}
