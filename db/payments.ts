import type { Db, Tx } from './client';
import type { OrderStatus, PaymentEventType, PaymentStatus, Provider } from './vocabulary';

/** The PG transaction log: attempts, successes, failures and refunds. */

export interface PaymentRow {
  id: number;
  /** The id the gateway knows this attempt by (Toss's orderId, PortOne's paymentId). */
  publicId: string;
  orderId: number;
  provider: Provider;
  amount: string;
  status: PaymentStatus;
  pgTid: string | null;
  createdAt: Date;
}

const columns = (db: Db) =>
  db`id, public_id as "publicId", order_id as "orderId", provider, amount::text as amount, status, pg_tid as "pgTid", created_at as "createdAt"`;

export async function openPaymentOf(tx: Tx, orderId: number): Promise<PaymentRow | undefined> {
  const [row] = await tx<PaymentRow[]>`
    select ${columns(tx)} from payments where order_id = ${orderId} and status = 'initiated' for update
  `;
  return row;
}

/** A payment for the order's total that expires with the order's hold (set by the caller first). */
export async function insertPayment(tx: Tx, orderId: number, provider: Provider): Promise<PaymentRow> {
  const [row] = await tx<PaymentRow[]>`
    insert into payments (order_id, provider, amount, expires_at)
    select id, ${provider}, total_amount, hold_expires_at from orders where id = ${orderId}
    returning ${columns(tx)}
  `;
  return row!;
}

/** The order id of a payment, read without a lock: callers lock seats, then the order, then this. */
/** The order a payment is for, and whose order in which schedule (none of these ever changes). */
export async function orderOfPayment(
  db: Db,
  paymentId: number,
): Promise<{ orderId: number; userId: number; scheduleId: number } | undefined> {
  const [row] = await db<{ orderId: number; userId: number; scheduleId: number }[]>`
    select o.id as "orderId", o.user_id as "userId", o.schedule_id as "scheduleId"
    from payments p join orders o on o.id = p.order_id where p.id = ${paymentId}`;
  return row;
}

/** A payment of an order with what confirming it needs to know about the order; no locks. */
export async function paymentOfOrder(
  db: Db,
  orderId: number,
  paymentId: number,
): Promise<(PaymentRow & { userId: number; orderStatus: OrderStatus; orderLapsed: boolean }) | undefined> {
  const [row] = await db<(PaymentRow & { userId: number; orderStatus: OrderStatus; orderLapsed: boolean })[]>`
    select p.id, p.public_id as "publicId", p.order_id as "orderId", p.provider, p.amount::text as amount, p.status,
           p.pg_tid as "pgTid", p.created_at as "createdAt",
           o.user_id as "userId", o.status as "orderStatus", order_hold_lapsed(o) as "orderLapsed"
    from payments p join orders o on o.id = p.order_id
    where p.id = ${paymentId} and p.order_id = ${orderId} and p.status <> 'refund'
  `;
  return row;
}

/** What a payment window shows: the concert and how many seats, and whose payment it is. */
export async function checkoutDetails(
  db: Db,
  orderId: number,
): Promise<{ title: string; seats: number; userSub: string }> {
  const [row] = await db<{ title: string; seats: number; userSub: string }[]>`
    select c.title, (select count(*)::int from order_items oi where oi.order_id = o.id and oi.status <> 'cancelled') as seats,
           u.sub as "userSub"
    from orders o join schedules s on s.id = o.schedule_id join concerts c on c.id = s.concert_id
    join users u on u.id = o.user_id
    where o.id = ${orderId}
  `;
  return row!;
}

export async function findById(db: Db, paymentId: number): Promise<PaymentRow | undefined> {
  const [row] = await db<PaymentRow[]>`select ${columns(db)} from payments where id = ${paymentId}`;
  return row;
}

/** A payment attempt by the id the gateway knows it by. */
export async function findByPublicId(db: Db, publicId: string): Promise<PaymentRow | undefined> {
  const [row] = await db<PaymentRow[]>`select ${columns(db)} from payments where public_id = ${publicId}`;
  return row;
}

export async function lockPayment(tx: Tx, paymentId: number): Promise<PaymentRow | undefined> {
  const [row] = await tx<
    PaymentRow[]
  >`select ${columns(tx)} from payments where id = ${paymentId} for update`;
  return row;
}

export async function setPaymentStatus(
  tx: Tx,
  paymentId: number,
  change: { status: PaymentStatus; pgTid?: string; approvedAt?: Date; flag?: string },
): Promise<void> {
  await tx`
    update payments set
      status = ${change.status},
      pg_tid = coalesce(${change.pgTid ?? null}, pg_tid),
      approved_at = coalesce(${change.approvedAt ?? null}, approved_at),
      flag = coalesce(${change.flag ?? null}, flag),
      updated_at = now()
    where id = ${paymentId}
  `;
}

export async function flagPayment(tx: Tx, paymentId: number, flag: string): Promise<void> {
  await tx`update payments set flag = ${flag}, updated_at = now() where id = ${paymentId}`;
}

/** Adds a note for the reconciliation report after any the payment already carries. */
export async function addPaymentFlag(tx: Tx, paymentId: number, note: string): Promise<void> {
  await tx`update payments set flag = concat_ws('; ', flag, ${note}::text), updated_at = now() where id = ${paymentId}`;
}

/**
 * Fails every open attempt of the order except `keep` (a superseded or unneeded attempt), noting
 * why: `fail_open_payments`, which expiring an order applies too.
 */
export async function failOpenPayments(
  tx: Tx,
  orderId: number,
  reason: string,
  keep?: number,
): Promise<void> {
  await tx`select fail_open_payments(array[${orderId}]::bigint[], ${reason}, ${keep ?? null}::bigint)`;
}

/**
 * Records money owed back to the customer from `of`. `requested`: the refund worker sends it to the
 * gateway; `made at the gateway`: the gateway already gave it back on its own (sent, nothing to send).
 */
export async function insertRefund(
  tx: Tx,
  of: PaymentRow,
  amount: string,
  state: 'requested' | 'made at the gateway' = 'requested',
): Promise<number> {
  const madeAtGateway = state === 'made at the gateway';
  const [row] = await tx<{ id: number }[]>`
    insert into payments (order_id, provider, amount, status, refund_of, pg_tid, refund_status, refund_sent_at,
                          made_at_gateway)
    values (${of.orderId}, ${of.provider}, ${amount}, 'refund', ${of.id}, ${of.pgTid},
            ${madeAtGateway ? 'sent' : 'requested'}, ${madeAtGateway ? tx`now()` : null}, ${madeAtGateway})
    returning id
  `;
  return row!.id;
}

/** A refund to send, with the payment it gives back from, locked and counted as one more attempt. */
export interface RefundToSend {
  id: number;
  orderId: number;
  provider: Provider;
  amount: string;
  attempts: number;
  /** The payment it refunds: ours, and how the gateway knows it. */
  paymentId: number;
  paymentRef: string;
  pgTid: string | null;
}

/** Claims a `requested` refund for one more attempt; undefined when it is no longer requested. */
export async function claimRefund(tx: Tx, refundId: number): Promise<RefundToSend | undefined> {
  const [row] = await tx<RefundToSend[]>`
    with claimed as (
      update payments set refund_attempts = refund_attempts + 1, updated_at = now()
      where id = ${refundId} and refund_status = 'requested'
      returning id, order_id, provider, amount, refund_attempts, refund_of
    )
    select c.id, c.order_id as "orderId", c.provider, c.amount::text as amount, c.refund_attempts as attempts,
           p.id as "paymentId", p.public_id as "paymentRef", p.pg_tid as "pgTid"
    from claimed c join payments p on p.id = c.refund_of
  `;
  return row;
}

/**
 * The refund's outcome at the gateway; only a `requested` refund changes (a late answer changes
 * nothing). `sent` by our call, or `made at the gateway`: the gateway gave its money back on its own.
 */
export async function settleRefund(
  tx: Tx,
  refundId: number,
  outcome:
    | { status: 'sent' | 'made at the gateway' }
    | { status: 'failed'; error: string }
    | { status: 'requested'; error: string },
): Promise<boolean> {
  const sent = outcome.status === 'sent' || outcome.status === 'made at the gateway';
  const rows = await tx`
    update payments set
      refund_status = ${sent ? 'sent' : outcome.status},
      refund_sent_at = ${sent ? tx`now()` : null},
      refund_error = ${'error' in outcome ? outcome.error : null},
      made_at_gateway = ${outcome.status === 'made at the gateway'},
      updated_at = now()
    where id = ${refundId} and refund_status = 'requested'
    returning id
  `;
  return rows.length > 0;
}

/** Where a refund stands, for a message that finds it no longer requested. */
export async function refundState(
  db: Db,
  refundId: number,
): Promise<(RefundOfPayment & { provider: Provider; paymentRef: string; pgTid: string | null }) | undefined> {
  const [row] = await db<
    (RefundOfPayment & { provider: Provider; paymentRef: string; pgTid: string | null })[]
  >`
    select r.id, r.amount::text as amount, r.refund_status as status, r.refund_attempts as attempts,
           r.made_at_gateway as "madeAtGateway", r.provider, p.public_id as "paymentRef", p.pg_tid as "pgTid"
    from payments r join payments p on p.id = r.refund_of
    where r.id = ${refundId}
  `;
  return row;
}

/**
 * Toss and PortOne attempts closed here without the gateway's word (no event of theirs was ever
 * applied), at least `afterSeconds` ago and not checked yet: the gateway may have taken money anyway.
 */
export async function closedUncheckedAttempts(
  db: Db,
  limit: number,
  afterSeconds = 120,
): Promise<PaymentRow[]> {
  return db<PaymentRow[]>`
    select ${columns(db)} from payments p
    where p.status = 'fail' and p.provider in ('toss', 'portone') and p.gateway_checked_at is null
      and p.updated_at < now() - make_interval(secs => ${afterSeconds})
      and not exists (select 1 from webhook_events w where w.payment_id = p.id and w.provider = p.provider)
    order by p.updated_at limit ${limit}
  `;
}

export async function markGatewayChecked(db: Db, paymentId: number): Promise<void> {
  await db`update payments set gateway_checked_at = now() where id = ${paymentId}`;
}

/** One refund of a payment, as attribution reads it (domain/refunds.ts). */
export interface RefundOfPayment {
  id: number;
  amount: string;
  status: 'requested' | 'sent' | 'failed';
  attempts: number;
  /** Sent, and the money was given back by the gateway on its own, not by our call. */
  madeAtGateway: boolean;
}

/**
 * The refunds of a payment, oldest first, locked: no worker claims or settles one of them until
 * the caller's transaction ends, so what it decides from them still holds when it commits.
 */
export async function lockedRefundsOf(tx: Tx, paymentId: number): Promise<RefundOfPayment[]> {
  return tx<RefundOfPayment[]>`
    select id, amount::text as amount, refund_status as status, refund_attempts as attempts,
           made_at_gateway as "madeAtGateway"
    from payments where refund_of = ${paymentId} order by id for update
  `;
}

/**
 * Refunds the gateway reports executed under their own keys: sent by our call. A failed one was
 * executed after all (an attempt whose answer was lost); one taken for made at the gateway was
 * executed too, so the money made at the gateway it stood for is not recorded yet.
 */
export async function settleExecutedRefunds(tx: Tx, refundIds: number[]): Promise<void> {
  if (!refundIds.length) return;
  await tx`
    update payments set refund_status = 'sent', refund_sent_at = coalesce(refund_sent_at, now()),
      made_at_gateway = false, updated_at = now()
    where id = any(${refundIds}::bigint[]) and (refund_status = 'failed' or made_at_gateway)
  `;
}

/**
 * Refunds of ours the gateway gave back on its own (its console did them for us): sent, made at
 * the gateway. Only `requested` and `failed` ones change; the caller holds their locks
 * (lockedRefundsOf), so no worker claims one meanwhile.
 */
export async function settleMadeAtGateway(tx: Tx, refundIds: number[]): Promise<void> {
  if (!refundIds.length) return;
  await tx`
    update payments set refund_status = 'sent', refund_sent_at = now(), made_at_gateway = true, updated_at = now()
    where id = any(${refundIds}::bigint[]) and refund_status in ('requested', 'failed')
  `;
}

/** Whether any money of this payment has been recorded as owed back. */
export async function hasRefunds(tx: Tx, paymentId: number): Promise<boolean> {
  const [row] = await tx<{ refunded: boolean }[]>`
    select exists (select 1 from payments where refund_of = ${paymentId}) as refunded
  `;
  return row!.refunded;
}

/** Successful payments of an order that have not been fully refunded yet, oldest first. */
export async function refundablePayments(
  tx: Tx,
  orderId: number,
): Promise<(PaymentRow & { refundable: string })[]> {
  return tx`
    select p.id, p.public_id as "publicId", p.order_id as "orderId", p.provider, p.amount::text as amount, p.status, p.pg_tid as "pgTid",
           p.created_at as "createdAt",
           (p.amount - coalesce((select sum(r.amount) from payments r where r.refund_of = p.id), 0))::text as refundable
    from payments p
    where p.order_id = ${orderId} and p.status = 'success'
    order by p.id
  `;
}

export async function recordWebhookEvent(
  tx: Tx,
  event: { provider: Provider; eventId: string; type: PaymentEventType; paymentId: number; payload: unknown },
): Promise<boolean> {
  const rows = await tx`
    insert into webhook_events (provider, event_id, type, payment_id, outcome, payload)
    values (${event.provider}, ${event.eventId}, ${event.type}, ${event.paymentId}, 'pending', ${tx.json(event.payload as never)})
    on conflict (provider, event_id) do nothing
    returning id
  `;
  return rows.length > 0;
}

export async function setWebhookOutcome(
  tx: Tx,
  provider: Provider,
  eventId: string,
  outcome: string,
): Promise<void> {
  await tx`update webhook_events set outcome = ${outcome} where provider = ${provider} and event_id = ${eventId}`;
}
