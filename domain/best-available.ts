import { type Db, inTx, type Tx } from '../db/client';
import * as seats from '../db/seats';
import { AppError } from './errors';
import { type BookingLimits, lockUserInSchedule, type PlacedOrder, placedOrThrow } from './orders';

const CANDIDATES = 24;
/** Searches before SOLD_OUT when the rows we queued for filled up meanwhile; a real sell-out ends at once. */
const ATTEMPTS = 4;

class BlockTaken extends Error {}

/**
 * "N best seats": the server picks `quantity` adjacent seats in one row and holds them exactly
 * like an explicit pick.
 *
 * Under a rush, picks spread over rows instead of queueing on the same seats: a pick claims a row
 * with a non-blocking row lock (another pick working there sends it to the next best row), looks
 * at that row again with fresh data and holds its best block with the same statement as an
 * explicit pick. Only when every candidate row is busy does it queue, behind the best one. One
 * pick per row at a time is also what keeps concurrent picks from stranding single seats between
 * them. Blocks that would strand a seat are taken only when no candidate row offers one that
 * does not.
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
    await lockUserInSchedule(tx, userId, input.scheduleId);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const candidates = await seats.findCandidateBlocks(
        tx,
        input.scheduleId,
        input.quantity,
        input,
        CANDIDATES,
      );
      if (candidates.length === 0) break;
      // rows in order of their best block; rows whose blocks all strand a seat go last
      const rows = [...new Map(candidates.map((c) => [`${c.section}\u0000${c.rowLabel}`, c])).values()];
      for (const allowStranding of [false, true]) {
        for (const row of rows.filter((r) => r.strands === allowStranding)) {
          if (!(await seats.tryLockRow(tx, input.scheduleId, row.section, row.rowLabel))) continue;
          const placed = await holdBestBlockInRow(tx, userId, input, row, limits);
          if (placed) return placed;
        }
      }
      // every candidate row is busy with another pick: queue behind the best one instead of
      // searching again (a search costs more than the wait)
      const best = rows[0]!;
      await seats.lockRow(tx, input.scheduleId, best.section, best.rowLabel);
      const placed = await holdBestBlockInRow(tx, userId, input, best, limits);
      if (placed) return placed;
    }
    const filtered = input.section || input.seatType || input.maxPrice !== undefined;
    throw new AppError(
      'SOLD_OUT',
      `No ${input.quantity} adjacent seats are available${filtered ? ' with these filters' : ''}`,
    );
  });
}

/** With the row claimed: look at it again with fresh data and hold its best block. */
async function holdBestBlockInRow(
  tx: Tx,
  userId: number,
  input: { scheduleId: number; quantity: number; section?: string; seatType?: string; maxPrice?: number },
  row: seats.CandidateBlock,
  limits: BookingLimits,
): Promise<PlacedOrder | undefined> {
  const fresh = await seats.findCandidateBlocks(
    tx,
    input.scheduleId,
    input.quantity,
    { ...input, row: { section: row.section, rowLabel: row.rowLabel } },
    CANDIDATES,
  );
  // fresh is ordered best first, blocks that strand a seat after those that do not
  for (const block of fresh) {
    const result = await tx
      .savepoint(async (sp) => {
        const held = await seats.holdSeats(sp, {
          userId,
          scheduleId: input.scheduleId,
          seatIds: block.seatIds,
          ttlSeconds: limits.holdTtlSeconds,
          maxSeatsPerUser: limits.maxSeatsPerUser,
          // the explicit-pick rule does not bind the server's own picks (they avoid strands anyway)
          singleSeatRuleChecked: true,
        });
        // an explicit pick took one of these seats: roll back to release what this attempt locked
        if (!held.order && held.takenSeatIds.length) throw new BlockTaken();
        return held;
      })
      .catch((error) => {
        if (error instanceof BlockTaken) return undefined;
        throw error;
      });
    // held, or refused for a reason another block cannot fix (the seat limit)
    if (result)
      return placedOrThrow(result, { scheduleId: input.scheduleId, seatIds: block.seatIds }, limits);
  }
  return undefined;
}
