/**
 * The seats fans choose from: each pick is a few different seats at random, and a hold that
 * succeeds strikes its seats off. The list is shared by every fan of a benchmark and a little
 * stale, as a seat map on a phone is, so two fans can still pick the same seat; the database
 * decides which of them gets it. Every benchmark that picks seats picks them here.
 */
export class SeatPicker {
  private readonly seats: number[];

  constructor(seats: readonly number[]) {
    this.seats = [...seats];
  }

  /** How many seats are left to pick from. */
  get count(): number {
    return this.seats.length;
  }

  /** `count` different seats at random (all that are left when fewer are). */
  pick(count: number): number[] {
    const picked = new Set<number>();
    const wanted = Math.min(count, this.seats.length);
    while (picked.size < wanted) picked.add(this.seats[Math.floor(Math.random() * this.seats.length)]!);
    return [...picked];
  }

  /** Seats seen held: nobody picks them again. */
  strikeOff(seatIds: readonly number[]): void {
    for (const id of seatIds) {
      const i = this.seats.indexOf(id);
      if (i >= 0) this.seats.splice(i, 1);
    }
  }
}
