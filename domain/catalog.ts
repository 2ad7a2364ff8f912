import { createHash } from 'node:crypto';
import * as catalog from '../db/catalog';
import { type Db, inTx } from '../db/client';
import * as reports from '../db/reports';
import * as seats from '../db/seats';
import { AppError, notFound } from './errors';
import { decodeCursor, encodeCursor } from './orders';
import { configureWaitingRoom, type WaitingRoomInput, waitingRoomView } from './waiting-room';
import { configureWaitlist, type WaitlistSettings, waitlistView } from './waitlist';

/** Browsing for fans, and the catalog administration behind it. */

export interface ConcertSearch {
  genre?: string;
  artist?: string;
  /** Words in the title or the artist. */
  q?: string;
  limit: number;
  cursor?: string;
}

export interface ConcertInput {
  title: string;
  artist: string;
  genre?: string | null;
  description?: string | null;
  runtimeMinutes?: number | null;
  /** Inactive concerts are hidden from fans. */
  isActive?: boolean;
}
export type ConcertChanges = Partial<ConcertInput>;

export interface CreateVenueInput {
  name: string;
  address?: string | null;
  sections: {
    section: string;
    /** Ordering of sections by quality, 1 = best; defaults to the request order. */
    rank?: number;
    rows: { rowLabel: string; seats: number; seatType: string; basePrice: number }[];
  }[];
}

export interface CreateScheduleInput {
  concertId: number;
  venueId: number;
  /** ISO 8601 timestamps. */
  startAt: string;
  endAt: string;
  /** Price per seat type; seat types left out sell at the seat's base price. */
  prices?: Record<string, number>;
  /** Refuse explicit picks that would strand a single empty seat. */
  noSingleSeatGaps?: boolean;
  waitingRoom?: WaitingRoomInput;
  /** The cancellation wait-list (API.md "Second chances"). */
  waitlist?: WaitlistSettings;
}

export async function listConcerts(db: Db, filter: ConcertSearch) {
  const rows = await catalog.listActiveConcerts(db, { ...filter, afterId: decodeCursor(filter.cursor) });
  const items = rows.slice(0, filter.limit);
  return { items, nextCursor: rows.length > filter.limit ? encodeCursor(items.at(-1)!.id) : null };
}

export async function getConcert(db: Db, id: number) {
  const concert = await catalog.findConcert(db, id, { activeOnly: true });
  if (!concert) throw notFound('Concert', id);
  const { isActive: _, ...publicFields } = concert;
  return { ...publicFields, schedules: await catalog.schedulesOfConcert(db, id) };
}

export async function getSchedule(db: Db, id: number) {
  const schedule = await catalog.findPublicSchedule(db, id);
  if (!schedule) throw notFound('Schedule', id);
  return schedule;
}

/** A page of a seat map: `limit` seats at most, after the seat `cursor` names. */
export interface SeatMapPageQuery {
  limit: number;
  cursor?: string;
}

/**
 * A page stops before its JSON passes 4 MB, whatever `limit` says: under the contract's 5 MB as
 * sent, and under Lambda's 6 MB once the body is escaped into its response.
 */
const SEAT_PAGE_MAX_BYTES = 4_000_000;

async function seatMapPageJson(db: Db, scheduleId: number, query: SeatMapPageQuery, admin: boolean) {
  const page = await seats.seatMapPage(db, scheduleId, {
    afterSeatId: decodeCursor(query.cursor) ?? 0,
    limit: query.limit,
    maxBytes: SEAT_PAGE_MAX_BYTES,
    admin,
  });
  const next = page.moreAfter === null ? 'null' : JSON.stringify(encodeCursor(page.moreAfter));
  return `{"scheduleId":${scheduleId},"seats":${page.seats},"nextCursor":${next}}`;
}

/** JSON text, serialised by PostgreSQL (see db/seats.ts). */
export async function getSeatMapJson(db: Db, scheduleId: number, query: SeatMapPageQuery): Promise<string> {
  await getSchedule(db, scheduleId);
  return seatMapPageJson(db, scheduleId, query, false);
}

export async function getAdminSeatMapJson(
  db: Db,
  scheduleId: number,
  query: SeatMapPageQuery,
): Promise<string> {
  if (!(await catalog.findSchedule(db, scheduleId))) throw notFound('Schedule', scheduleId);
  return seatMapPageJson(db, scheduleId, query, true);
}

/** Changes whenever the layout's JSON could: with the venue's seats, or with its format here. */
const LAYOUT_FORMAT = 1;

/** The tag of the venue's layout: cheap, from the version of its seats. */
export async function venueLayoutTag(db: Db, venueId: number): Promise<string> {
  const version = await catalog.venueLayoutVersion(db, venueId);
  if (version === undefined) throw notFound('Venue', venueId);
  return `layout${LAYOUT_FORMAT}.${venueId}.${version}`;
}

/**
 * The venue's seats for drawing, in layout order (db/catalog.ts `layoutOrder`): sections, their
 * rows, each row's seats as a run (numbers `firstNumber`.., seat ids `firstSeatId`..). The seat
 * status's bits follow the same order.
 */
export async function getVenueLayout(db: Db, venueId: number) {
  const runs = await catalog.venueLayoutRuns(db, venueId);
  const sections: { section: string; rows: Omit<catalog.LayoutRun, 'section'>[] }[] = [];
  for (const { section, ...row } of runs) {
    if (sections.at(-1)?.section !== section) sections.push({ section, rows: [] });
    sections.at(-1)!.rows.push(row);
  }
  return { venueId, seatCount: runs.reduce((n, r) => n + r.count, 0), sections };
}

/**
 * The availability of every seat of a public schedule in layout order, as a bitset: bit i (most
 * significant first) of the bytes is 1 when seat i is available, sent in base64. Its tag is a hash
 * of the bits, so it changes exactly when some seat's availability does — by a write, or by a
 * hold lapsing, which no write marks (the database reads the bits as of now). A per-schedule
 * change counter would be one row every hold of the schedule updates, a queue at an on-sale.
 */
export async function getSeatStatus(db: Db, scheduleId: number) {
  const row = await seats.seatStatusBits(db, scheduleId);
  if (!row) throw notFound('Schedule', scheduleId);
  const { bits } = row;
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  let availableCount = 0;
  for (let i = 0; i < bits.length; i++) {
    if (bits.charCodeAt(i) !== 49) continue; // '1'
    bytes[i >> 3]! |= 0x80 >> (i & 7);
    availableCount++;
  }
  const hash = createHash('sha256').update(`${bits.length}:`).update(bytes).digest('base64url');
  return {
    tag: `status1.${hash.slice(0, 27)}`,
    body: {
      scheduleId,
      venueId: row.venueId,
      seatCount: bits.length,
      availableCount,
      encoding: 'bitset-base64' as const,
      available: bytes.toString('base64'),
    },
  };
}

export async function getAvailability(db: Db, scheduleId: number) {
  await getSchedule(db, scheduleId);
  const sections = await seats.availabilityBySection(db, scheduleId);
  return {
    total: sections.reduce((n, s) => n + s.total, 0),
    available: sections.reduce((n, s) => n + s.available, 0),
    sections,
  };
}

export const createConcert = (db: Db, fields: ConcertInput) => catalog.insertConcert(db, fields);

export async function updateConcert(db: Db, id: number, fields: ConcertChanges) {
  const updated = await catalog.updateConcert(db, id, fields);
  if (!updated) throw notFound('Concert', id);
  return updated;
}

/**
 * Rows are ranked in request order within each section, sections by their `rank` (or request
 * order): the first row of the best section is the best row.
 */
export async function createVenue(db: Db, input: CreateVenueInput) {
  const sections = input.sections
    .map((section, index) => ({ section, order: section.rank ?? index + 1, index }))
    .sort((a, b) => a.order - b.order || a.index - b.index);
  let rowRank = 0;
  const rows: catalog.RowSpec[] = sections.flatMap(({ section }) =>
    section.rows.map((row) => ({
      section: section.section,
      rowLabel: row.rowLabel,
      seats: row.seats,
      seatType: row.seatType,
      basePrice: row.basePrice,
      rowRank: rowRank++,
    })),
  );
  return inTx(db, (tx) =>
    catalog.insertVenueWithSeats(tx, { name: input.name, address: input.address ?? null }, rows),
  );
}

export async function createSchedule(db: Db, input: CreateScheduleInput, now = new Date()) {
  return inTx(db, async (tx) => {
    if (!(await catalog.findConcert(tx, input.concertId, { activeOnly: false })))
      throw notFound('Concert', input.concertId);
    const seatTypes = await catalog.venueSeatTypes(tx, input.venueId);
    if (!seatTypes) throw notFound('Venue', input.venueId);
    const unknown = Object.keys(input.prices ?? {}).filter((t) => !seatTypes.includes(t));
    if (unknown.length) {
      throw new AppError('VALIDATION_FAILED', `The venue has no seat type ${unknown.join(', ')}`, {
        errors: unknown.map((t) => ({
          field: `body.prices.${t}`,
          message: `not a seat type of venue ${input.venueId}`,
        })),
      });
    }
    const { singleSeatRule, ...schedule } = await catalog.insertScheduleWithSeats(tx, {
      concertId: input.concertId,
      venueId: input.venueId,
      startAt: input.startAt,
      endAt: input.endAt,
      prices: input.prices ?? {},
      singleSeatRule: input.noSingleSeatGaps ?? false,
    });
    if (input.waitingRoom) await configureWaitingRoom(tx, schedule.id, input.waitingRoom, now);
    if (input.waitlist) await configureWaitlist(tx, schedule.id, input.waitlist);
    return {
      ...schedule,
      noSingleSeatGaps: singleSeatRule,
      waitingRoom: await waitingRoomView(tx, schedule.id, now),
      waitlist: await waitlistView(tx, schedule.id),
    };
  });
}

/** A schedule as administrators see it; a cancelled one with how far settling its orders has got. */
export async function adminSchedule(db: Db, id: number, now = new Date()) {
  const schedule = await catalog.findSchedule(db, id);
  if (!schedule) throw notFound('Schedule', id);
  const { singleSeatRule, ...rest } = schedule;
  return {
    ...rest,
    noSingleSeatGaps: singleSeatRule,
    seatCount: await catalog.scheduleSeatCount(db, id),
    waitingRoom: await waitingRoomView(db, id, now),
    waitlist: await waitlistView(db, id),
    ...(rest.status === 'cancelled' ? { cancellation: await reports.cancellationProgress(db, id) } : {}),
  };
}
