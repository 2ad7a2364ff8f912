import * as catalog from '../db/catalog';
import { type Db, inTx } from '../db/client';
import * as orders from '../db/orders';
import * as seats from '../db/seats';
import type { ScheduleStatus } from '../db/vocabulary';
import { adminSchedule } from './catalog';
import { AppError, notFound } from './errors';
import { cancelItems } from './orders';

const BATCH = 100;

/**
 * Opens, closes or cancels a schedule. Cancelling is final: every unpaid order is cancelled and
 * every paid one refunded, in batches of small transactions so a 50,000-seat show does not hold
 * one giant lock. Repeating the request finishes whatever an interrupted run left.
 */
export async function changeScheduleStatus(db: Db, id: number, status: ScheduleStatus) {
  if (!(await catalog.setScheduleStatus(db, id, status))) {
    // unchanged: say why, from the status the guarded update saw
    const current = await catalog.findSchedule(db, id);
    if (!current) throw notFound('Schedule', id);
    if (current.status === 'cancelled' && status !== 'cancelled') {
      throw new AppError('INVALID_STATUS_TRANSITION', 'A cancelled schedule cannot be reopened');
    }
  }
  if (status === 'cancelled') await cancelAllOrders(db, id);
  return adminSchedule(db, id);
}

async function cancelAllOrders(db: Db, scheduleId: number): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await inTx(db, async (tx) => {
      const ids = await tx<{ id: number }[]>`
        select id from orders
        where schedule_id = ${scheduleId} and status in ('created', 'awaiting_payment', 'paid')
        order by id limit ${BATCH}
      `;
      for (const { id } of ids) {
        await seats.lockSeatsOfOrder(tx, id);
        const order = await orders.lockOrder(tx, id);
        if (!order || !['created', 'awaiting_payment', 'paid'].includes(order.status)) continue;
        const live = (await orders.itemsOfOrder(tx, id)).filter((i) => i.status !== 'cancelled');
        await cancelItems(tx, order, live, 'schedule_cancelled');
      }
      return ids.length;
    });
    total += done;
    if (done < BATCH) return total;
  }
}
