import { describe, expect, it } from 'vitest';
import { SeatPicker } from './seat-picker';

describe('SeatPicker', () => {
  it('picks different seats among those given', () => {
    const picker = new SeatPicker([1, 2, 3]);

    for (let i = 0; i < 50; i++) {
      const picked = picker.pick(2);
      expect(new Set(picked).size).toBe(2);
      for (const id of picked) expect([1, 2, 3]).toContain(id);
    }
  });

  it('never picks a seat struck off again', () => {
    const picker = new SeatPicker([1, 2, 3, 4]);

    picker.strikeOff([2, 4, 9]);

    expect(picker.count).toBe(2);
    expect(picker.pick(2).sort()).toEqual([1, 3]);
  });

  it('picks all that are left when fewer are left than asked for', () => {
    const picker = new SeatPicker([7, 8]);

    picker.strikeOff([8]);

    expect(picker.pick(2)).toEqual([7]);
    picker.strikeOff([7]);
    expect(picker.pick(2)).toEqual([]);
  });
});
