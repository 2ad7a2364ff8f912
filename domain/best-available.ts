import { type Db, inTx } from '../db/client';
import * as seats from '../db/seats';
import { AppError } from './errors';
import { type BookingLimits, checkUserMayHold, holdLockedSeats, type PlacedOrder } from './orders';

const CANDIDATES = 24;

class BlockTaken extends Error {}

/**
 * "N best seats": the server picks `quantity` adjacent seats in one row and holds them exactly
 * like an explicit pick. Candidates are claimed with SKIP LOCKED, so a rush of picks spreads over
 * free blocks instead of queueing behind each other; a row where another pick is working is left
 * for the next best row, which also keeps concurrent picks from stranding single seats there.
 */
export async function placeBestAvailable(
  db: Db,
  userId: number,
  input: { scheduleId: number; quantity: number; section?: string; seatType?: string; maxPrice?: number },
  limits: BookingLimits,
): Promise<PlacedOrder> {
  if (input.quantity > limits.maxSeatsPerOrder) {
    throw new AppError('SEAT_LIMIT_EXCEEDED', `At most ${limits.maxSeatsPerOrder} seats per order`);
  }
  return inTx(db, async (tx) => {
    await checkUserMayHold(tx, userId, input.scheduleId, input.quantity, limits);
    for (let round = 0; round < 2; round++) {
      const candidates = await seats.findCandidateBlocks(
        tx,
        input.scheduleId,
        input.quantity,
        input,
        CANDIDATES,
      );
      if (candidates.length === 0) break;
      const busyRows = new Set<string>();
      for (const block of candidates) {
        const row = `${block.section}\u0000${block.rowLabel}`;
        if (busyRows.has(row) && round === 0) continue;
        try {
          return await tx.savepoint(async (sp) => {
            const locked = await seats.lockBlockSkipLocked(sp, input.scheduleId, block.seatIds);
            // rolling back the savepoint releases the rows this attempt did lock
            if (locked.length !== block.seatIds.length || locked.some((s) => !s.free)) throw new BlockTaken();
            return holdLockedSeats(sp, userId, input.scheduleId, locked, limits.holdTtlSeconds);
          });
        } catch (error) {
          if (!(error instanceof BlockTaken)) throw error;
          busyRows.add(row);
        }
      }
    }
    throw new AppError(
      'SOLD_OUT',
      `No ${input.quantity} adjacent seats are available${input.section || input.seatType || input.maxPrice !== undefined ? ' with these filters' : ''}`,
    );
  });
}
