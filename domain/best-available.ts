import type { Db } from '../db/client';
import * as seats from '../db/seats';
import { AppError, notFound } from './errors';
import { type BookingLimits, type PlacedOrder, seatLimitExceeded } from './orders';

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
 * like an explicit pick, in one call of `hold_best_available`
 * (db/migrations/0016_best_available_turnstile.sql). Picks of a schedule choose their seats one at a
 * time, in the order they came, and write their holds side by side; blocks that strand no single
 * seat are taken before any that does, across rows.
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
  const result = await seats.holdBestAvailable(db, {
    userId,
    ...input,
    ttlSeconds: limits.holdTtlSeconds,
    maxSeatsPerUser: limits.maxSeatsPerUser,
  });
  if (result.order) return { order: result.order, expiredOrderIds: result.expiredOrderIds };
  if (!result.schedule) throw notFound('Schedule', input.scheduleId);
  if (!result.schedule.onSale) throw new AppError('SALES_CLOSED', 'This schedule is not on sale');
  if (result.owned + input.quantity > limits.maxSeatsPerUser) throw seatLimitExceeded(result.owned, limits);
  const filtered = input.section || input.seatType || input.maxPrice !== undefined;
  throw new AppError(
    'SOLD_OUT',
    `No ${input.quantity} adjacent seats are available${filtered ? ' with these filters' : ''}`,
  );
}
