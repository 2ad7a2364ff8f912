import { type Db, inTx, type Tx } from '../db/client';
import * as seats from '../db/seats';
import { AppError } from './errors';
import { type BookingLimits, lockUserInSchedule, type PlacedOrder, placedOrThrow } from './orders';

const CANDIDATES = 24;
/** Searches before SOLD_OUT while other picks hold the candidate rows; a real sell-out ends at once. */
const ROUNDS = 10;

class BlockTaken extends Error {}

/**
 * "N best seats": the server picks `quantity` adjacent seats in one row and holds them exactly
 * like an explicit pick.
 *
 * Under a rush, picks spread over rows instead of queueing: a pick claims a row with a
 * non-blocking row lock (another pick working in that row sends it to the next best row), looks
 * at that row again with fresh data, and claims its block with SKIP LOCKED (explicit picks do not
 * take row locks). One pick per row at a time is also what keeps concurrent picks from stranding
 * single seats between them. Blocks that would strand a seat are taken only when no candidate row
 * offers one that does not.
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
    for (let round = 0; round < ROUNDS; round++) {
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
          const placed = await tryRow(tx, userId, input, row, allowStranding, limits);
          if (placed) return placed;
        }
      }
      // every candidate row is busy with another pick: give it a moment to commit
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 5 * (round + 1)));
    }
    const filtered = input.section || input.seatType || input.maxPrice !== undefined;
    throw new AppError(
      'SOLD_OUT',
      `No ${input.quantity} adjacent seats are available${filtered ? ' with these filters' : ''}`,
    );
  });
}

async function tryRow(
  tx: Tx,
  userId: number,
  input: { scheduleId: number; quantity: number; section?: string; seatType?: string; maxPrice?: number },
  row: seats.CandidateBlock,
  allowStranding: boolean,
  limits: BookingLimits,
): Promise<PlacedOrder | undefined> {
  if (!(await seats.tryLockRow(tx, input.scheduleId, row.section, row.rowLabel))) return undefined;
  const fresh = await seats.findCandidateBlocks(
    tx,
    input.scheduleId,
    input.quantity,
    { ...input, row: { section: row.section, rowLabel: row.rowLabel } },
    CANDIDATES,
  );
  for (const block of fresh.filter((b) => allowStranding || !b.strands)) {
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
