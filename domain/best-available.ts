import { type Db, inTx, type Tx } from '../db/client';
import * as seats from '../db/seats';
import { AppError } from './errors';
import { type BookingLimits, lockUserInSchedule, type PlacedOrder, placedOrThrow } from './orders';

/** Rows looked at per pick, and blocks per row. */
const CANDIDATE_ROWS = 40;
const BLOCKS_PER_ROW = 12;
/** Searches before SOLD_OUT when the rows we queued for filled up meanwhile; a real sell-out ends at once. */
const ATTEMPTS = 4;

class BlockTaken extends Error {}

/** "The best `quantity` seats", optionally within a section, a seat type or a price. */
export interface BestAvailablePick {
  scheduleId: number;
  quantity: number;
  section?: string;
  seatType?: string;
  maxPrice?: number;
}

/**
 * "N best seats": the server picks `quantity` adjacent seats in one row and holds them exactly
 * like an explicit pick.
 *
 * Under a rush, picks spread over rows instead of queueing on the same seats: a pick claims a row
 * with a non-blocking row lock (another pick working there sends it to the next best row), looks
 * at that row again with fresh data and holds its best block with the same statement as an
 * explicit pick. Only when every usable row is busy does it queue, behind one of the best few. One
 * pick per row at a time is also what keeps concurrent picks from stranding single seats between
 * them. Blocks that would strand a seat are taken only when no candidate row offers one that
 * does not.
 */
export async function placeBestAvailable(
  db: Db,
  userId: number,
  input: BestAvailablePick,
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
      const busy: typeof rows = [];
      const stranding: typeof rows = [];
      for (const row of rows) {
        const outcome = await tryRow(tx, userId, input, row, { allowStranding: false, wait: false }, limits);
        if (typeof outcome !== 'string') return outcome;
        if (outcome === 'busy') busy.push(row);
        if (outcome === 'strands') stranding.push(row);
      }
      // no row offers a block that leaves no single seat: take the best one that does
      for (const row of stranding) {
        const outcome = await tryRow(tx, userId, input, row, { allowStranding: true, wait: false }, limits);
        if (typeof outcome !== 'string') return outcome;
      }
      if (busy.length === 0) continue;
      // every usable row is busy with another pick: queue behind one of the best few (spread, so
      // the queue is not all on one row)
      const row = busy[Math.floor(Math.random() * Math.min(busy.length, 4))]!;
      const outcome = await tryRow(tx, userId, input, row, { allowStranding: true, wait: true }, limits);
      if (typeof outcome !== 'string') return outcome;
    }
    const filtered = input.section || input.seatType || input.maxPrice !== undefined;
    throw new AppError(
      'SOLD_OUT',
      `No ${input.quantity} adjacent seats are available${filtered ? ' with these filters' : ''}`,
    );
  });
}

class RowOutcome extends Error {
  constructor(readonly outcome: 'busy' | 'strands' | 'none') {
    super(outcome);
  }
}

/**
 * Claims one row and holds its best block, all inside a savepoint: when the row is busy or has no
 * usable block, rolling the savepoint back releases the row again (transaction-level advisory
 * locks taken in a rolled-back savepoint are released), so a pick never sits on rows it does not
 * use — and never waits for a row while holding another.
 */
async function tryRow(
  tx: Tx,
  userId: number,
  input: BestAvailablePick,
  row: { section: string; rowLabel: string },
  options: { allowStranding: boolean; wait: boolean },
  limits: BookingLimits,
): Promise<PlacedOrder | 'busy' | 'strands' | 'none'> {
  return tx
    .savepoint(async (sp) => {
      if (options.wait) await seats.lockRow(sp, input.scheduleId, row.section, row.rowLabel);
      else if (!(await seats.tryLockRow(sp, input.scheduleId, row.section, row.rowLabel)))
        throw new RowOutcome('busy');
      const blocks = await blocksInRow(sp, input, row);
      const placed = await holdFirst(
        sp,
        userId,
        input,
        blocks.filter((b) => options.allowStranding || !b.strands),
        limits,
      );
      if (placed) return placed;
      throw new RowOutcome(blocks.some((b) => b.strands) ? 'strands' : 'none');
    })
    .catch((error) => {
      if (error instanceof RowOutcome) return error.outcome;
      throw error;
    });
}

/** The blocks of one (claimed) row, with fresh data, best first. */
function blocksInRow(tx: Tx, input: BestAvailablePick, row: { section: string; rowLabel: string }) {
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
        // roll back to release the seats this attempt locked: keeping them while locking the next
        // block's would break the id order every other path locks seats in (the race suite
        // found the deadlock when this savepoint was removed)
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
