import type { Db } from './client';

/** Read models for administrators. */

export async function scheduleReport(db: Db, scheduleId: number) {
  const [row] = await db`
    select
      (select json_build_object(
         'total', count(*),
         'available', count(*) filter (where seat_is_free(ss)),
         'held', count(*) filter (where ss.status = 'held' and not seat_is_free(ss)),
         'pendingPayment', count(*) filter (where ss.status = 'pending_payment' and not seat_is_free(ss)),
         'booked', count(*) filter (where ss.status = 'booked'))
       from schedule_seats ss where ss.schedule_id = s.id) as seats,
      (select coalesce(sum(o.total_amount), 0)::numeric(14, 2)::text from orders o
        where o.schedule_id = s.id and o.status = 'paid') as revenue,
      (select count(*)::int from orders o where o.schedule_id = s.id and o.status = 'paid') as "paidOrders"
    from schedules s where s.id = ${scheduleId}
  `;
  return row;
}

export interface CancellationProgress {
  ordersLeft: number;
  refundsRequested: number;
  refundsSent: number;
  refundsFailed: number;
}

/**
 * How far a cancelled schedule's settling has got: its orders not settled yet, and its refunds by
 * where the money is (every refund of its orders, those from before the cancel included).
 */
export async function cancellationProgress(db: Db, scheduleId: number): Promise<CancellationProgress> {
  const [row] = await db<CancellationProgress[]>`
    select (select count(*) from orders o where o.schedule_id = ${scheduleId} and order_is_open(o))::int as "ordersLeft",
           count(*) filter (where p.refund_status = 'requested')::int as "refundsRequested",
           count(*) filter (where p.refund_status = 'sent')::int as "refundsSent",
           count(*) filter (where p.refund_status = 'failed')::int as "refundsFailed"
    from orders o join payments p on p.order_id = o.id and p.status = 'refund'
    where o.schedule_id = ${scheduleId}
  `;
  return row!;
}

/**
 * Tickets sold and revenue by genre or artist, for performances starting in [from, to).
 * A ticket is a booked item of a paid order; refunded items are not sales.
 */
export async function salesReport(db: Db, groupBy: 'genre' | 'artist', from?: string, to?: string) {
  const key = groupBy === 'genre' ? db`coalesce(c.genre, '(none)')` : db`c.artist`;
  return db<{ key: string; ticketsSold: number; revenue: string }[]>`
    select ${key} as key, count(*)::int as "ticketsSold", sum(oi.price)::numeric(14, 2)::text as revenue
    from order_items oi
    join orders o on o.id = oi.order_id and o.status = 'paid'
    join schedules s on s.id = o.schedule_id
    join concerts c on c.id = s.concert_id
    where oi.status = 'booked'
      ${from ? db`and s.start_at >= ${from}` : db``}
      ${to ? db`and s.start_at < ${to}` : db``}
    group by 1
    order by sum(oi.price) desc, 1
  `;
}

/**
 * What an operator must look at: money without tickets, refunds not sent yet (with their attempts),
 * refunds given up on, stuck and flagged payments.
 */
export async function reconciliation(db: Db) {
  const [paidWithoutTicket, refundsToSend, failedRefunds, stuckPayments, flaggedPayments] = await Promise.all(
    [
      db`
      select p.id as "paymentId", p.order_id as "orderId", o.status as "orderStatus", p.amount::text as amount
      from payments p join orders o on o.id = p.order_id
      where p.status = 'success' and o.status <> 'paid'
        and p.amount > coalesce((select sum(r.amount) from payments r where r.refund_of = p.id), 0)
      order by p.id limit 500`,
      db`
      select id as "paymentId", order_id as "orderId", amount::text as amount, refund_of as "refundOf",
             created_at as "createdAt", refund_attempts as attempts, refund_error as "lastError"
      from payments where refund_status = 'requested'
      order by id limit 500`,
      db`
      select id as "paymentId", order_id as "orderId", amount::text as amount, refund_of as "refundOf",
             created_at as "createdAt", refund_attempts as attempts, refund_error as "lastError"
      from payments where refund_status = 'failed'
      order by id limit 500`,
      db`
      select id as "paymentId", order_id as "orderId", amount::text as amount, expires_at as "expiresAt"
      from payments where status = 'initiated' and expires_at <= now()
      order by id limit 500`,
      db`
      select id as "paymentId", order_id as "orderId", flag
      from payments
      where flag like 'amount_mismatch%' or flag like 'provider_mismatch%' or flag like '%refund_shortfall%'
         or flag like '%gateway_cancel%'
      order by id limit 500`,
    ],
  );
  return { paidWithoutTicket, refundsToSend, failedRefunds, stuckPayments, flaggedPayments };
}
