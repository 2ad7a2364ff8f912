import { describe, expect, test } from 'vitest';
import type { SeatStatus, VenueLayout } from '../../shared/api';
import { decodeAvailability, isAvailable, SeatModel } from './model';

const layout: VenueLayout = {
  venueId: 7,
  seatCount: 11,
  sections: [
    {
      section: 'Floor',
      rows: [
        { rowLabel: '1', seatType: 'vip', firstNumber: 1, count: 4, firstSeatId: 100 },
        // a row listed as two runs: one row of 5 seats
        { rowLabel: '2', seatType: 'vip', firstNumber: 1, count: 2, firstSeatId: 104 },
        { rowLabel: '2', seatType: 'r', firstNumber: 3, count: 3, firstSeatId: 200 },
      ],
    },
    {
      section: 'Balcony',
      rows: [{ rowLabel: 'B1', seatType: 'a', firstNumber: 1, count: 2, firstSeatId: 50 }],
    },
  ],
};

describe('SeatModel', () => {
  const model = new SeatModel(layout);

  test('seat i is the i-th seat of layout order, runs of one row make one row', () => {
    expect(model.rows.map((r) => [r.label, r.first, r.count])).toEqual([
      ['1', 0, 4],
      ['2', 4, 5],
      ['B1', 9, 2],
    ]);
    expect(model.seat(6)).toEqual({
      index: 6,
      seatId: 200,
      section: 'Floor',
      rowLabel: '2',
      number: 3,
      seatType: 'r',
    });
    expect(model.seat(10).seatId).toBe(51);
    expect(model.seatTypes).toEqual(['vip', 'r', 'a']);
  });

  test('seat ids map back to layout indices, and unknown ids to -1', () => {
    for (let i = 0; i < layout.seatCount; i++) expect(model.indexOf(model.seat(i).seatId)).toBe(i);
    expect(model.indexOf(103 + 2)).toBe(5);
    expect(model.indexOf(106)).toBe(-1);
  });

  test('a point on a seat hits it; the gaps between rows and sections hit nothing', () => {
    for (let i = 0; i < layout.seatCount; i++)
      expect(model.hit(model.seatX[i]! + 0.4, model.seatY[i]! + 0.4)).toBe(i);
    expect(model.hit(-100, -100)).toBe(-1);
    expect(model.hit(model.seatX[0]! + 0.4, model.seatY[0]! + 1.05)).toBe(-1);
  });

  test('arrows walk along a row and to the nearest seat of the next row', () => {
    expect(model.step(0, 'left')).toBe(0);
    expect(model.step(0, 'right')).toBe(1);
    expect(model.step(2, 'end')).toBe(3);
    expect(model.step(5, 'home')).toBe(4);
    // row 1 (4 seats) is centred over row 2 (5 seats): seat 2 of row 1 sits between seats 2 and 3 of row 2
    expect([5, 6]).toContain(model.step(1, 'down'));
    // down from the last row of a section: into the first row of the next
    expect([9, 10]).toContain(model.step(8, 'down'));
    expect(model.step(0, 'up')).toBe(0);
    expect(model.stepSection(3, 1)).toBe(9);
    expect(model.stepSection(9, -1)).toBe(0);
  });
});

test('the bitset decodes most significant bit first, as the OpenAPI document says', () => {
  // seats 0, 2 and 9 available of 11: 1010 0000 | 0100 0000
  const status = {
    seatCount: 11,
    available: btoa(String.fromCharCode(0b1010_0000, 0b0100_0000)),
  } as SeatStatus;
  const bits = decodeAvailability(status);
  expect(Array.from({ length: 11 }, (_, i) => isAvailable(bits, i))).toEqual([
    true,
    false,
    true,
    false,
    false,
    false,
    false,
    false,
    false,
    true,
    false,
  ]);
});
