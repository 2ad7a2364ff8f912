import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTx } from '../../db/client';
import { ensureUser } from '../../db/users';
import { placeBestAvailable } from '../../domain/best-available';
import { checkoutOf, confirmPayment } from '../../domain/checkout';
import { waitlistLimits } from '../../domain/config';
import { cancelOrder, placeOrder, startPayment } from '../../domain/orders';
import { applyPaymentEvent } from '../../domain/payments';
import { updateSchedule } from '../../domain/schedules';
import { sweep } from '../../domain/sweeper';
import { joinWaitlist, leaveWaitlist } from '../../domain/waitlist';
import { checkoutGatewayFor, gatewayFor } from '../../functions/adapters/gateways';
import { recordCharge } from '../../local/pg-simulator/builtin';
import type { FaultMode } from '../../local/pg-simulator/state';
import { createTestApi, type TestApi } from '../api';
import {
  createShow,
  invariantViolations,
  refundViolations,
  type Show,
  waitlistViolations,
} from '../fixtures';

/**
 * The worst minute of an on-sale, compressed: 100 connections firing 10,000 random operations —
 * explicit and best-available holds, cancellations, payment starts, PG successes (some delivered
 * twice at once), failures, wrong amounts and sweeps — with holds lapsing during the run. Beside
 * them, money moving through the real gateways' flows against the simulator: Toss payments approved
 * in its window and confirmed (twice at once, racing Toss's webhook, declined, while Toss answers
 * 500), PortOne payments whose webhook comes through the API and its queue while a confirm races
 * it, cancellations made at the gateway on its own, refunds that fail twice, lose their answer or
 * never get through, and the queues and the refund worker draining while all of it happens. After
 * it, every invariant of test/fixtures.ts must hold, and every refund must have settled, once.
 */
const WORKERS = 100;
// `npm run soak` runs the same suite ten times longer (100,000 operations), outside CI
const OPS_PER_WORKER = process.env.SOAK === '1' ? 1000 : 100;
const limits = { holdTtlSeconds: 2, paymentTtlSeconds: 3, maxSeatsPerOrder: 4, maxSeatsPerUser: 6 };
const PRICE = 1000;

type RefundFault = 'refundFailsTwice' | 'refundLosesAnswer' | 'error500';

type Op =
  | { kind: 'hold'; seats: number[] }
  | { kind: 'best'; quantity: number }
  | { kind: 'cancel'; partial: boolean }
  | { kind: 'pay' }
  | { kind: 'succeed'; duplicate: boolean; wrongAmount: boolean }
  | { kind: 'fail' }
  | { kind: 'sweep' }
  | { kind: 'pause'; ms: number }
  | {
      kind: 'toss';
      confirm: 'once' | 'twice' | 'withWebhook' | 'never';
      fault?: 'decline' | 'error500' | 'duplicateWebhook';
    }
  | {
      kind: 'portone';
      decline: boolean;
      confirm: boolean;
      fault?: 'duplicateWebhook' | 'lateWebhook' | 'noWebhook';
    }
  | { kind: 'gatewayCancel'; partial: boolean }
  | { kind: 'refundFault'; mode: RefundFault; partial: boolean }
  | { kind: 'drain' }
  | { kind: 'join'; quantity: number }
  | { kind: 'leave' }
  | { kind: 'waitlistSwitch'; enabled: boolean };

const opArb = (seatCount: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 30,
      arbitrary: fc
        .uniqueArray(fc.nat(seatCount - 1), { minLength: 1, maxLength: 3 })
        .map((seats) => ({ kind: 'hold' as const, seats })),
    },
    {
      weight: 8,
      arbitrary: fc.integer({ min: 1, max: 3 }).map((quantity) => ({ kind: 'best' as const, quantity })),
    },
    { weight: 12, arbitrary: fc.boolean().map((partial) => ({ kind: 'cancel' as const, partial })) },
    { weight: 15, arbitrary: fc.constant({ kind: 'pay' as const }) },
    {
      weight: 20,
      arbitrary: fc
        .record({ duplicate: fc.boolean(), wrongAmount: fc.boolean().map((b) => b && Math.random() < 0.15) })
        .map((r) => ({ kind: 'succeed' as const, ...r })),
    },
    { weight: 6, arbitrary: fc.constant({ kind: 'fail' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'sweep' as const }) },
    { weight: 7, arbitrary: fc.integer({ min: 1, max: 40 }).map((ms) => ({ kind: 'pause' as const, ms })) },
    // the gateways' own flows: fewer, each several HTTP round trips
    {
      weight: 4,
      arbitrary: fc.record(
        {
          kind: fc.constant('toss' as const),
          confirm: fc.constantFrom(
            'once' as const,
            'twice' as const,
            'withWebhook' as const,
            'never' as const,
          ),
          fault: fc.constantFrom('decline' as const, 'error500' as const, 'duplicateWebhook' as const),
        },
        { requiredKeys: ['kind', 'confirm'] },
      ),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        {
          kind: fc.constant('portone' as const),
          decline: fc.boolean().map((b) => b && Math.random() < 0.3),
          confirm: fc.boolean(),
          fault: fc.constantFrom('duplicateWebhook' as const, 'lateWebhook' as const, 'noWebhook' as const),
        },
        { requiredKeys: ['kind', 'decline', 'confirm'] },
      ),
    },
    { weight: 2, arbitrary: fc.boolean().map((partial) => ({ kind: 'gatewayCancel' as const, partial })) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('refundFault' as const),
        mode: fc.constantFrom('refundFailsTwice' as const, 'refundLosesAnswer' as const, 'error500' as const),
        partial: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
    {
      weight: 4,
      arbitrary: fc.integer({ min: 1, max: 3 }).map((quantity) => ({ kind: 'join' as const, quantity })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'leave' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .boolean()
        .map((on) => ({ kind: 'waitlistSwitch' as const, enabled: on || Math.random() < 0.7 })),
    },
  );

let api: TestApi;
let show: Show;
/** Every fault switched on, per payment: for the report of a failing run. */
const faultsSet = new Map<string, FaultMode[]>();
function setFaults(paymentRef: string, modes: FaultMode[]) {
  api.simulator.setFaults(paymentRef, modes);
  faultsSet.set(paymentRef, [...(faultsSet.get(paymentRef) ?? []), ...modes]);
}

beforeAll(async () => {
  api = await createTestApi(
    {
      // what the payment processor reads (the operations pass `limits` themselves)
      HOLD_TTL_SECONDS: String(limits.holdTtlSeconds),
      PAYMENT_TTL_SECONDS: String(limits.paymentTtlSeconds),
      MAX_SEATS_PER_ORDER: String(limits.maxSeatsPerOrder),
      MAX_SEATS_PER_USER: String(limits.maxSeatsPerUser),
      // wait-list offers lapse during the run too, and pass on
      OFFER_TTL_SECONDS: '3',
      // a gateway slowed by this machine's load is not the fault under test: 503s come from error500
      GATEWAY_TIMEOUT_MS: '5000',
    },
    { connections: WORKERS + 20 },
  );
  api.simulator.state.lateWebhookMs = 300;
  show = await createShow(api.sql, { rows: 20, seatsPerRow: 25, price: PRICE });
  await updateSchedule(api.sql, show.scheduleId, { waitlist: { enabled: true } }, new Date());
});
afterAll(() => api.close());

describe(`${WORKERS * OPS_PER_WORKER} random operations from ${WORKERS} connections`, () => {
  // Its rare failures on a loaded machine were a real race (a hold that waited for a seat whose
  // 2-second hold lapsed meanwhile could not see that order: db/orders.pg.test.ts now pins it).
  // A failing run prints its seed and errors; the retry stays for timing noise of a loaded CI
  // machine, and a real bug fails both runs.
  it('keep every invariant', { timeout: 1_800_000, retry: 1 }, async () => {
    const sql = api.sql;
    const sim = api.simulator;
    // RACE_SEED replays a run's plans (not its timing: the interleaving is the machine's)
    const seed = Number(process.env.RACE_SEED) || Date.now();
    const plans = fc.sample(
      fc.array(opArb(show.seatIds.length), { minLength: OPS_PER_WORKER, maxLength: OPS_PER_WORKER }),
      { seed, numRuns: WORKERS },
    );
    const users = await Promise.all(plans.map((_, i) => ensureUser(sql, { sub: `racer-${i}` })));
    const counts: Record<string, number> = {};
    /** Time spent in each kind of operation, summed over the workers, ms: where a run's minutes go. */
    const spent: Record<string, number> = {};
    const unexpected: string[] = [];
    // payments a test made unreachable at the gateway for good: nothing else is done with them there
    const unreachable = new Set<string>();
    let eventSeq = 0;

    const myOrders = (userId: number, statuses: string[]) =>
      sql<
        { id: number }[]
      >`select id from orders where user_id = ${userId} and status = any(${statuses}) order by random() limit 1`;
    const somePayment = () =>
      sql<{ id: number; publicId: string; amount: string }[]>`
        select id, public_id as "publicId", amount::text as amount from payments
        where provider = 'card' and status in ('initiated', 'fail') and refund_of is null
        order by random() limit 1`;
    const someItem = (orderId: number) =>
      sql<
        { id: number }[]
      >`select id from order_items where order_id = ${orderId} and status <> 'cancelled' limit 1`;

    /** The buyer approves in Toss's window; undefined when Toss sends them to the fail URL. */
    async function approveInTossWindow(checkout: Record<string, unknown>) {
      const res = await fetch(`${sim.url}/checkout/toss/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...checkout,
          successUrl: 'https://app.test/ok',
          failUrl: 'https://app.test/fail',
        }),
        redirect: 'manual',
      });
      const back = new URL(res.headers.get('location')!);
      if (back.pathname !== '/ok') return undefined;
      return { paymentKey: back.searchParams.get('paymentKey')!, amount: back.searchParams.get('amount')! };
    }

    /** The buyer pays (or is declined) in PortOne's window: PortOne sends its webhook to our API. */
    async function payInPortOneWindow(checkout: Record<string, unknown>, decision: 'approve' | 'decline') {
      const query = new URLSearchParams({
        ...Object.fromEntries(Object.entries(checkout).map(([k, v]) => [k, String(v)])),
        redirectUrl: 'https://app.test/done',
      });
      const opened = await fetch(`${sim.url}/checkout/portone?${query}`);
      await opened.text();
      if (opened.status !== 200) return;
      const res = await fetch(`${sim.url}/checkout/portone`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ paymentId: String(checkout.paymentId), decision }).toString(),
        redirect: 'manual',
      });
      await res.text();
    }

    /** The payment queue a few times over, as its Lambda would poll it, while a confirm runs. */
    async function processWebhooks() {
      for (let i = 0; i < 3; i++) {
        await api.queue.drain();
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    async function run(userId: number, op: Op, expected: Set<string>) {
      counts[op.kind] = (counts[op.kind] ?? 0) + 1;
      const caller = { id: userId, isAdmin: false };
      switch (op.kind) {
        case 'hold':
          return placeOrder(
            sql,
            userId,
            { scheduleId: show.scheduleId, seatIds: op.seats.map((i) => show.seatIds[i]!) },
            limits,
          );
        case 'best':
          return placeBestAvailable(
            sql,
            userId,
            { scheduleId: show.scheduleId, quantity: op.quantity },
            limits,
          );
        case 'cancel': {
          const [order] = await myOrders(userId, ['created', 'awaiting_payment', 'paid']);
          if (!order) return;
          const items = op.partial ? (await someItem(order.id)).map((i) => i.id) : undefined;
          return cancelOrder(sql, caller, order.id, items?.length ? items : undefined);
        }
        case 'pay': {
          const [order] = await myOrders(userId, ['created', 'awaiting_payment']);
          if (order) return startPayment(sql, caller, order.id, 'card', limits);
          return;
        }
        case 'succeed':
        case 'fail': {
          const [payment] = await somePayment();
          if (!payment) return;
          // a gateway that charged a payment reports that same amount ever after: a success for 2000.00
          // of a payment it charged 1.23 (a wrong amount first) is no gateway's word, and made the
          // refund invariant compare us with a record the run itself contradicted
          const charged = sim.state.payments.get(payment.publicId);
          const event = {
            eventId: `race-${++eventSeq}`,
            type: op.kind === 'fail' ? ('payment.failed' as const) : ('payment.succeeded' as const),
            paymentId: payment.id,
            pgTid: `tid-${payment.id}`,
            amount: charged
              ? (charged.amount / 100).toFixed(2)
              : op.kind === 'succeed' && op.wrongAmount
                ? '1.23'
                : payment.amount,
            occurredAt: new Date().toISOString(),
          };
          // the gateway charged what it reports, and can be asked to give it back
          if (op.kind === 'succeed' && !sim.state.payments.has(payment.publicId)) {
            recordCharge(
              sim,
              {
                provider: 'card',
                paymentId: payment.id,
                paymentRef: payment.publicId,
                amount: event.amount,
                pgTid: event.pgTid,
              },
              true,
            );
          }
          const deliveries = op.kind === 'succeed' && op.duplicate ? 3 : 1;
          return Promise.all(Array.from({ length: deliveries }, () => applyPaymentEvent(sql, 'card', event)));
        }
        case 'sweep':
          return sweep(sql, { batchSize: 50 });
        case 'pause':
          return new Promise((r) => setTimeout(r, op.ms));

        case 'toss': {
          const [order] = await myOrders(userId, ['created', 'awaiting_payment']);
          if (!order) return;
          const payment = await startPayment(sql, caller, order.id, 'toss', limits);
          const checkout = await checkoutOf(sql, payment, await checkoutGatewayFor('toss'));
          if (op.fault) setFaults(payment.publicId, [op.fault]);
          const redirect = await approveInTossWindow(checkout as Record<string, unknown>);
          if (!redirect || op.confirm === 'never') return;
          if (op.fault === 'error500') expected.add('GATEWAY_UNAVAILABLE');
          const confirm = () =>
            confirmPayment(sql, caller, order.id, payment.id, redirect, gatewayFor, limits);
          try {
            if (op.confirm === 'once') await confirm();
            else if (op.confirm === 'twice') await Promise.all([confirm(), confirm()]);
            else await Promise.all([confirm(), processWebhooks()]);
          } finally {
            // Toss answers again: the buyer's retry confirms it, or finds it settled
            if (op.fault === 'error500') {
              setFaults(payment.publicId, []);
              await confirm();
            }
          }
          return;
        }
        case 'portone': {
          const [order] = await myOrders(userId, ['created', 'awaiting_payment']);
          if (!order) return;
          const payment = await startPayment(sql, caller, order.id, 'portone', limits);
          const checkout = await checkoutOf(sql, payment, await checkoutGatewayFor('portone'));
          // a lost webhook leaves only the confirm to tell us (without it, nothing would)
          const fault = op.fault === 'noWebhook' && !op.confirm ? undefined : op.fault;
          if (fault) setFaults(payment.publicId, [fault]);
          try {
            await payInPortOneWindow(checkout as Record<string, unknown>, op.decline ? 'decline' : 'approve');
            if (op.confirm) {
              // the confirm after the window's redirect races PortOne's webhook through our queue
              await Promise.all([
                confirmPayment(sql, caller, order.id, payment.id, {}, gatewayFor, limits),
                processWebhooks(),
              ]);
            }
          } finally {
            // that webhook was lost; PortOne's later ones (a cancellation) arrive — also when the
            // confirm was refused (a run once kept every later notice of the payment from us)
            if (fault === 'noWebhook') setFaults(payment.publicId, []);
          }
          return;
        }
        case 'gatewayCancel': {
          // a paid payment cancelled at its gateway: the console, a card company, a chargeback
          const [payment] = await sql<{ publicId: string }[]>`
            select public_id as "publicId" from payments
            where status = 'success' and provider in ('card', 'toss', 'portone') order by random() limit 1`;
          if (!payment || unreachable.has(payment.publicId) || !sim.state.payments.has(payment.publicId))
            return;
          const res = await fetch(`${sim.url}/_sim/payments/${payment.publicId}/cancel`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(op.partial ? { amount: PRICE } : {}),
          });
          await res.text();
          return;
        }
        case 'refundFault': {
          // the gateway misbehaves for this payment, then its customer cancels
          const [order] = await myOrders(userId, ['paid']);
          if (!order) return;
          const [payment] = await sql<{ publicId: string }[]>`
            select public_id as "publicId" from payments where order_id = ${order.id} and status = 'success' limit 1`;
          if (!payment) return;
          if (op.mode === 'error500') unreachable.add(payment.publicId);
          setFaults(payment.publicId, [op.mode]);
          const items = op.partial ? (await someItem(order.id)).map((i) => i.id) : undefined;
          return cancelOrder(sql, caller, order.id, items?.length ? items : undefined);
        }
        case 'drain':
          return api.pump();
        case 'join':
          return joinWaitlist(sql, userId, show.scheduleId, { quantity: op.quantity }, waitlistLimits());
        case 'leave': {
          const [entry] = await sql<{ id: number }[]>`
            select id from waitlist_entries where user_id = ${userId} order by random() limit 1`;
          if (entry) return leaveWaitlist(sql, caller, entry.id);
          return;
        }
        case 'waitlistSwitch':
          return updateSchedule(sql, show.scheduleId, { waitlist: { enabled: op.enabled } }, new Date());
      }
    }

    const started = Date.now();
    await Promise.all(
      plans.map(async (plan, i) => {
        for (const op of plan) {
          // a 5xx the operation itself provoked (503 while it made the gateway fail)
          const expected = new Set<string>();
          const began = Date.now();
          try {
            await run(users[i]!, op, expected);
          } catch (error) {
            const { status, code } = error as { status?: number; code?: string };
            // refusals (4xx) are the system working; anything else is a bug
            if (!(status && status < 500) && !(code && expected.has(code)))
              unexpected.push(`${op.kind}: ${(error as Error).message}`);
          }
          spent[op.kind] = (spent[op.kind] ?? 0) + Date.now() - began;
        }
      }),
    );
    const ran = Date.now() - started;
    await sweep(sql);
    // every refund is sent or given up on, with the gateways' faults still on
    await settleAll();
    // then the gateways recover, and an operator redrives what the payment queue dead-lettered
    sim.state.faults.clear();
    for (const message of api.queue.deadLetters.splice(0)) await api.queue.send(JSON.parse(message.body));
    await settleAll();

    async function settleAll() {
      for (let round = 0; round < 10; round++) {
        await api.settle();
        const [left] = await sql<{ n: number }[]>`
          select count(*)::int as n from payments where refund_status = 'requested'`;
        if (left!.n === 0 && api.queue.depth === 0 && api.refundQueue.depth === 0) return;
      }
    }

    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`race run (seed ${seed}): ${total} operations in ${ran} ms`, counts, 'ms spent:', spent);
    expect(total).toBe(WORKERS * OPS_PER_WORKER);
    if (unexpected.length) console.error(`race run (seed ${seed}) unexpected errors:`, unexpected);
    expect(unexpected).toEqual([]);
    const [stats] = await sql`
      select (select count(*) from orders where status = 'paid')::int as paid,
             (select count(*) from payments where status = 'refund')::int as refunds,
             (select count(*) from webhook_events)::int as events,
             (select json_object_agg(provider, n) from (
                select provider, count(*) as n from payments where status = 'success' group by 1) s) as "paidBy",
             (select json_object_agg(coalesce(refund_status, '?'), n) from (
                select refund_status, count(*) as n from payments where status = 'refund' group by 1) r) as "refundsBy",
             (select count(*) from webhook_events where outcome like '%cancelled_by_gateway')::int as "gatewayCancels"`;
    console.log(`race run (seed ${seed}):`, stats, 'gateway:', sim.state.counts);
    // the wait-list: back on, and a sweep that offers what is due, then nothing may be left waiting
    // that a block on sale would serve
    await updateSchedule(sql, show.scheduleId, { waitlist: { enabled: true } }, new Date());
    await sweep(sql);
    const waitlistProblems = await waitlistViolations(sql, limits.maxSeatsPerUser);
    const [offers] = await sql<{ offered: number; lapsed: number; accepted: number }[]>`
      select count(*) filter (where order_id is not null)::int as offered,
             count(*) filter (where status = 'lapsed')::int as lapsed,
             count(*) filter (where status = 'accepted')::int as accepted
      from waitlist_entries`;
    console.log(`race run (seed ${seed}): wait-list`, offers);
    expect(waitlistProblems).toEqual({});
    expect(offers!.offered).toBeGreaterThan(0);
    const violations = await invariantViolations(sql);
    const refundProblems = await refundViolations(sql, sim.state);
    // A payment the run made unreachable for good (its gateway fails every call from then on) cannot
    // tell us what was done at the gateway before: a console cancel whose one notice was lost stays
    // unknowable (a CI run met exactly that). Its refunds must still end sent or failed and run once.
    const knowable = (refundProblems.gatewayAndUsDisagree ?? []).filter(
      (p) => !unreachable.has((p as { paymentRef: string }).paymentRef),
    );
    if (knowable.length) refundProblems.gatewayAndUsDisagree = knowable;
    else delete refundProblems.gatewayAndUsDisagree;
    if (Object.keys(violations).length || Object.keys(refundProblems).length) {
      console.error(
        `race run (seed ${seed}) what happened:`,
        JSON.stringify(await storyOf(violations, refundProblems), null, 1),
      );
    }
    expect(violations).toEqual({});
    expect(refundProblems).toEqual({});
    // the run must have exercised the payment paths, not only refused everything
    expect(stats!.paid).toBeGreaterThan(0);
    expect(stats!.events).toBeGreaterThan(100);
    expect(Object.keys(stats!.paidBy).sort()).toEqual(['card', 'portone', 'toss']);
    expect(stats!.refundsBy).toMatchObject({ sent: expect.any(Number), failed: expect.any(Number) });
    expect(stats!.gatewayCancels).toBeGreaterThan(0);
  });

  /**
   * The orders behind violations, a few of each kind, with their items, payments, refunds, events
   * and the gateway's record: what a failing run reports so that its sequence can be read.
   */
  async function storyOf(violations: Record<string, unknown[]>, refundProblems: Record<string, unknown[]>) {
    type Row = { id?: number; paymentRef?: string };
    const rows = (found: unknown[] | undefined) => (found ?? []) as Row[];
    const sql = api.sql;
    const orderIds = {
      bookedWithoutMoney: await sql`select distinct order_id as id from schedule_seats
        where id = any(${rows(violations.bookedWithoutMoney).map((r) => r.id!)})`,
      unsettledRefunds: await sql`select distinct order_id as id from payments
        where id = any(${rows(refundProblems.unsettledRefunds).map((r) => r.id!)})`,
      gatewayAndUsDisagree: await sql`select distinct order_id as id from payments
        where public_id = any(${rows(refundProblems.gatewayAndUsDisagree).map((r) => r.paymentRef!)})`,
      paymentWithoutTicket: await sql`select distinct order_id as id from payments
        where id = any(${rows(violations.paymentWithoutTicket).map((r) => r.id!)})`,
      openPaymentOfEndedOrder: await sql`select distinct order_id as id from payments
        where id = any(${rows(violations.openPaymentOfEndedOrder).map((r) => r.id!)})`,
    };
    const stories: Record<string, unknown[]> = {};
    for (const [kind, ids] of Object.entries(orderIds)) {
      if (ids.length) stories[kind] = await story(ids.slice(0, 4).map((o) => o.id as number));
    }
    return stories;
  }

  async function story(orderIds: number[]) {
    const orders = await api.sql<{ id: number; payments: { ref: string }[] | null }[]>`
      select o.id, o.status, o.cancel_reason as "cancelReason",
        (select json_agg(json_build_object('id', oi.id, 'status', oi.status, 'price', oi.price::text) order by oi.id)
         from order_items oi where oi.order_id = o.id) as items,
        (select json_agg(json_build_object('id', p.id, 'ref', p.public_id, 'provider', p.provider, 'status', p.status,
                 'amount', p.amount::text, 'refundOf', p.refund_of, 'refundStatus', p.refund_status,
                 'error', p.refund_error, 'flag', p.flag, 'at', p.updated_at) order by p.id)
         from payments p where p.order_id = o.id) as payments,
        (select json_agg(json_build_object('at', w.processed_at, 'event', w.event_id, 'type', w.type,
                 'outcome', w.outcome) order by w.id)
         from webhook_events w join payments p on p.id = w.payment_id where p.order_id = o.id) as events,
        (select json_agg(json_build_object('at', x.created_at, 'type', x.detail_type, 'detail', x.detail) order by x.id)
         from outbox x where (x.detail->>'orderId')::bigint = o.id) as outbox
      from orders o where o.id = any(${orderIds})`;
    return orders.map((o) => ({
      ...o,
      atGateway: (o.payments ?? []).flatMap((p) => {
        const g = api.simulator.state.payments.get(p.ref);
        const faults = faultsSet.get(p.ref) ?? [];
        return g ? [{ ref: p.ref, status: g.status, amount: g.amount, cancels: g.cancels, faults }] : [];
      }),
    }));
  }

  it('keep one user within the seat limit under 60 concurrent requests', async () => {
    const greedy = await ensureUser(api.sql, { sub: 'greedy-racer' });
    const fresh = await createShow(api.sql, { rows: 5, seatsPerRow: 30 });

    await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        i % 2
          ? placeOrder(
              api.sql,
              greedy,
              { scheduleId: fresh.scheduleId, seatIds: fresh.seatIds.slice(i * 2, i * 2 + 2) },
              limits,
            )
          : placeBestAvailable(api.sql, greedy, { scheduleId: fresh.scheduleId, quantity: 2 }, limits),
      ),
    );

    const [row] = await inTx(
      api.sql,
      (tx) => tx`
      select count(*)::int as n from schedule_seats where schedule_id = ${fresh.scheduleId} and status = 'held'`,
    );
    expect(row!.n).toBeLessThanOrEqual(limits.maxSeatsPerUser);
    expect(row!.n).toBeGreaterThan(0);
  });
});
