import { type Db, inTx, type Tx } from '../db/client';
import * as seats from '../db/seats';
import { AppError } from './errors';
import { type BookingLimits, lockUserInSchedule, type PlacedOrder, placedOrThrow } from './orders';

/** Rows looked at per pick, and blocks per row. */
const CANDIDATE_ROWS = 40;
const BLOCKS_PER_ROW = 12;
/** Searches before SOLD_OUT when the rows we queued for filled up meanwhile; a real sell-out ends at once. */
const ATTEMPTS = 6;

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
      const rows = await seats.candidateRows(tx, input.scheduleId, input.quantity, input, CANDIDATE_ROWS);
      if (rows.length === 0) break;
      // claim free rows best first; a row whose every block would strand a seat is kept in reserve
      const reserve: seats.CandidateBlock[] = [];
      let claimed = 0;
      for (const row of rows) {
        if (!(await seats.tryLockRow(tx, input.scheduleId, row.section, row.rowLabel))) continue;
        claimed++;
        const blocks = await blocksInRow(tx, input, row);
        const placed = await holdFirst(
          tx,
          userId,
          input,
          blocks.filter((b) => !b.strands),
          limits,
        );
        if (placed) return placed;
        reserve.push(...blocks.filter((b) => b.strands));
      }
      const placed = await holdFirst(
        tx,
        userId,
        input,
        reserve.sort((a, b) => a.score - b.score),
        limits,
      );
      if (placed) return placed;
      if (claimed > 0) {
        // rows we claimed are ours until we commit: waiting for another now could deadlock with
        // a pick that waits for one of ours — look again instead
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
        continue;
      }
      // every candidate row is busy with another pick: queue behind one of the best few (spread,
      // so the queue is not all on one row) instead of searching again
      const row = rows[Math.floor(Math.random() * Math.min(rows.length, 4))]!;
      await seats.lockRow(tx, input.scheduleId, row.section, row.rowLabel);
      const queued = await holdFirst(tx, userId, input, await blocksInRow(tx, input, row), limits);
      if (queued) return queued;
    }
    const filtered = input.section || input.seatType || input.maxPrice !== undefined;
    throw new AppError(
      'SOLD_OUT',
      `No ${input.quantity} adjacent seats are available${filtered ? ' with these filters' : ''}`,
    );
  });
}

/** The blocks of one (claimed) row, with fresh data, best first. */
function blocksInRow(
  tx: Tx,
  input: { scheduleId: number; quantity: number; section?: string; seatType?: string; maxPrice?: number },
  row: { section: string; rowLabel: string },
) {
  return seats.findCandidateBlocks(tx, input.scheduleId, input.quantity, { ...input, row }, BLOCKS_PER_ROW);
}

/** Holds the first block that is still free (an explicit pick may have taken a seat meanwhile). */
async function holdFirst(
  tx: Tx,
  userId: number,
  input: { scheduleId: number },
  blocks: seats.CandidateBlock[],
  limits: BookingLimits,
): Promise<PlacedOrder | undefined> {
  for (const block of blocks) {
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
        // roll back to release what this attempt locked
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
