import type { Venue } from './admin-api';

/**
 * The venues this browser created. The API lists no venues (API.md has no such route): the console
 * offers those it made and those of the performances on sale, and takes any other by its id.
 */
const KEY = 'ticketing.console.venues';

export interface KnownVenue {
  id: number;
  name: string;
}

export function rememberedVenues(): KnownVenue[] {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) ?? '[]') as KnownVenue[];
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

export function rememberVenue(venue: Venue): void {
  const others = rememberedVenues().filter((v) => v.id !== venue.id);
  localStorage.setItem(KEY, JSON.stringify([{ id: venue.id, name: venue.name }, ...others].slice(0, 50)));
}
