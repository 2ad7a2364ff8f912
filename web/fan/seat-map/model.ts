import type { SeatStatus, VenueLayout } from '../../shared/api';

/**
 * A venue's seats as the map draws them, built once from `GET /venues/{id}/layout`: seat i is the
 * i-th seat of layout order, the order of the seat-status bitset. Flat typed arrays rather than an
 * object per seat, so that a 100,000-seat stadium costs a few megabytes and one pass to build.
 *
 * The layout says which seats exist, not where: sections are drawn as blocks of rows, left to
 * right in layout order and wrapped into lines (a schematic, with the stage above).
 */
export interface Row {
  section: number;
  label: string;
  /** Index of its first seat; its seats are first … first + count - 1. */
  first: number;
  count: number;
  /** Position of its first seat (seat units). */
  x: number;
  y: number;
}

export interface Section {
  name: string;
  /** Indices into rows. */
  rows: number[];
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Run {
  row: number;
  first: number;
  count: number;
  firstNumber: number;
  firstSeatId: number;
  seatType: number;
}

export interface Seat {
  index: number;
  seatId: number;
  section: string;
  rowLabel: string;
  number: number;
  seatType: string;
}

/** Space between seats, rows and sections, in seat widths. */
const ROW_PITCH = 1.25;
const SECTION_GAP = 4;
const LABEL_SPACE = 2.5;
export const STAGE_HEIGHT = 4;
export const SEAT_SIZE = 0.8;

export class SeatModel {
  readonly venueId: number;
  readonly seatCount: number;
  readonly rows: Row[] = [];
  readonly sections: Section[] = [];
  /** Seat types in order of first appearance (the legend's tiers). */
  readonly seatTypes: string[] = [];
  /** Per seat: its row, its tier (index into seatTypes), its position. */
  readonly seatRow: Uint32Array;
  readonly seatTier: Uint8Array;
  readonly seatX: Float32Array;
  readonly seatY: Float32Array;
  private readonly runs: Run[] = [];
  /** Runs by firstSeatId, for seat id → index. */
  private readonly runsById: Run[];
  width = 0;
  height = 0;

  constructor(layout: VenueLayout) {
    this.venueId = layout.venueId;
    this.seatCount = layout.seatCount;
    this.seatRow = new Uint32Array(layout.seatCount);
    this.seatTier = new Uint8Array(layout.seatCount);
    this.seatX = new Float32Array(layout.seatCount);
    this.seatY = new Float32Array(layout.seatCount);
    const tiers = new Map<string, number>();
    let index = 0;
    for (const [s, section] of layout.sections.entries()) {
      const box: Section = { name: section.section, rows: [], x: 0, y: 0, width: 0, height: 0 };
      this.sections.push(box);
      for (const run of section.rows) {
        let row = this.rows[this.rows.length - 1];
        // runs of one row follow each other in layout order
        if (!row || row.section !== s || row.label !== run.rowLabel) {
          row = { section: s, label: run.rowLabel, first: index, count: 0, x: 0, y: 0 };
          box.rows.push(this.rows.length);
          this.rows.push(row);
        }
        let tier = tiers.get(run.seatType);
        if (tier === undefined) {
          tier = this.seatTypes.push(run.seatType) - 1;
          tiers.set(run.seatType, tier);
        }
        this.runs.push({
          row: this.rows.length - 1,
          first: index,
          count: run.count,
          firstNumber: run.firstNumber,
          firstSeatId: run.firstSeatId,
          seatType: tier,
        });
        this.seatRow.fill(this.rows.length - 1, index, index + run.count);
        this.seatTier.fill(tier, index, index + run.count);
        row.count += run.count;
        index += run.count;
      }
    }
    this.runsById = [...this.runs].sort((a, b) => a.firstSeatId - b.firstSeatId);
    this.place();
  }

  /** Sections as blocks in lines about as wide as the whole is tall; rows centred in their block. */
  private place(): void {
    for (const box of this.sections) {
      box.width = Math.max(1, ...box.rows.map((r) => this.rows[r]!.count));
      box.height = LABEL_SPACE + box.rows.length * ROW_PITCH;
    }
    const area = this.sections.reduce((n, b) => n + (b.width + SECTION_GAP) * (b.height + SECTION_GAP), 0);
    const lineWidth = Math.max(...this.sections.map((b) => b.width), Math.sqrt(area) * 1.5);
    const lines: Section[][] = [[]];
    let used = 0;
    for (const box of this.sections) {
      const line = lines[lines.length - 1]!;
      if (line.length && used + box.width > lineWidth) {
        lines.push([box]);
        used = box.width + SECTION_GAP;
      } else {
        line.push(box);
        used += box.width + SECTION_GAP;
      }
    }
    const widths = lines.map(
      (line) => line.reduce((n, b) => n + b.width, 0) + SECTION_GAP * (line.length - 1),
    );
    this.width = Math.max(...widths);
    let y = STAGE_HEIGHT + SECTION_GAP;
    for (const [i, line] of lines.entries()) {
      let x = (this.width - widths[i]!) / 2;
      for (const box of line) {
        box.x = x;
        box.y = y;
        x += box.width + SECTION_GAP;
        for (const [k, r] of box.rows.entries()) {
          const row = this.rows[r]!;
          row.x = box.x + (box.width - row.count) / 2;
          row.y = box.y + LABEL_SPACE + k * ROW_PITCH;
          for (let seat = 0; seat < row.count; seat++) {
            this.seatX[row.first + seat] = row.x + seat;
            this.seatY[row.first + seat] = row.y;
          }
        }
      }
      y += Math.max(...line.map((b) => b.height)) + SECTION_GAP;
    }
    this.height = y - SECTION_GAP;
  }

  private runOf(index: number): Run {
    // binary search: runs are in layout order
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid]!.first <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.runs[lo]!;
  }

  seat(index: number): Seat {
    const run = this.runOf(index);
    const row = this.rows[run.row]!;
    return {
      index,
      seatId: run.firstSeatId + (index - run.first),
      section: this.sections[row.section]!.name,
      rowLabel: row.label,
      number: run.firstNumber + (index - run.first),
      seatType: this.seatTypes[run.seatType]!,
    };
  }

  /** The layout index of a seat id, or -1 for a seat not in this venue. */
  indexOf(seatId: number): number {
    let lo = 0;
    let hi = this.runsById.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const run = this.runsById[mid]!;
      if (seatId < run.firstSeatId) hi = mid - 1;
      else if (seatId >= run.firstSeatId + run.count) lo = mid + 1;
      else return run.first + (seatId - run.firstSeatId);
    }
    return -1;
  }

  /** The seat under a point (seat units), or -1. */
  hit(x: number, y: number): number {
    for (const box of this.sections) {
      if (x < box.x - 0.5 || x > box.x + box.width || y < box.y || y > box.y + box.height) continue;
      for (const r of box.rows) {
        const row = this.rows[r]!;
        if (y < row.y - 0.15 || y > row.y + SEAT_SIZE + 0.15) continue;
        const k = Math.floor(x - row.x + 0.1);
        return k >= 0 && k < row.count ? row.first + k : -1;
      }
    }
    return -1;
  }

  /**
   * The seat a keyboard arrow leads to from `index`: left/right along the row, up/down to the
   * nearest seat of the row in front or behind (crossing into the section before or after).
   */
  step(index: number, direction: 'left' | 'right' | 'up' | 'down' | 'home' | 'end'): number {
    const row = this.rows[this.seatRow[index]!]!;
    switch (direction) {
      case 'left':
        return index > row.first ? index - 1 : index;
      case 'right':
        return index < row.first + row.count - 1 ? index + 1 : index;
      case 'home':
        return row.first;
      case 'end':
        return row.first + row.count - 1;
      default: {
        const r = this.seatRow[index]! + (direction === 'up' ? -1 : 1);
        const next = this.rows[r];
        if (!next) return index;
        const k = Math.round(this.seatX[index]! - next.x);
        return next.first + Math.max(0, Math.min(next.count - 1, k));
      }
    }
  }

  /** The first seat of the section after (or before) the seat's. */
  stepSection(index: number, delta: 1 | -1): number {
    const section = this.sections[this.rows[this.seatRow[index]!]!.section + delta];
    return section ? this.rows[section.rows[0]!]!.first : index;
  }
}

/** The seat-status bitset (most significant bit first): bit i set when seat i is available. */
export function decodeAvailability(status: SeatStatus): Uint8Array {
  const text = atob(status.available);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export const isAvailable = (bits: Uint8Array | undefined, index: number): boolean =>
  !!bits && (bits[index >> 3]! & (0x80 >> (index & 7))) !== 0;
