/**
 * What the gateway simulator remembers: the payments it has seen, the faults a test switched on
 * for them, and a count of every call it received — so a test can prove that a retried refund was
 * executed exactly once. Shared by the provider modules beside it (toss.ts, portone.ts, builtin.ts).
 */

/** Misbehaviour a test can switch on for one payment (by our public id, the gateway's orderId/paymentId). */
export const FAULT_MODES = [
  /** the payment is refused (card declined) */
  'decline',
  /** the gateway does not answer in time (the call hangs past the client's timeout) */
  'timeout',
  /** the gateway answers 500 */
  'error500',
  /** every webhook for the payment is sent twice */
  'duplicateWebhook',
  /** webhooks for the payment are held back this many ms (see `lateWebhookMs`) */
  'lateWebhook',
  /** the first two cancel calls fail with a 500, the third succeeds */
  'refundFailsTwice',
  /** the first cancel call is executed, but its answer is lost (a 500 after the fact) */
  'refundLosesAnswer',
  /** no webhook is sent at all */
  'noWebhook',
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export type SimProvider = 'toss' | 'portone' | 'builtin';

export interface SimCancel {
  /** The Idempotency-Key (or our derived key) it was executed under. */
  key: string;
  amount: number;
  reason: string;
  at: string;
}

export interface SimPayment {
  provider: SimProvider;
  /** Our public id: Toss's orderId, PortOne's paymentId, the built-in paymentId. */
  paymentRef: string;
  /** The gateway's own key: Toss's paymentKey, PortOne's transaction id. */
  pgTid: string;
  amount: number;
  orderName: string;
  /** Provider-neutral life cycle; each module maps it to its gateway's words. */
  status: 'ready' | 'authorized' | 'paid' | 'failed' | 'cancelled' | 'partially_cancelled';
  approvedAt: string | null;
  failure?: { code: string; message: string };
  cancels: SimCancel[];
  /** Extra data a provider module keeps (e.g. our payment id for the built-in format). */
  extra: Record<string, unknown>;
}

export interface SimCounts {
  /** `${provider} ${operation}` → calls received, e.g. "toss confirm", "toss cancel". */
  calls: Record<string, number>;
  /** Refunds actually executed (money given back), per provider. */
  refundsExecuted: Record<string, number>;
  /** Webhooks delivered (including retries), per provider. */
  webhooksSent: Record<string, number>;
}

export class SimulatorState {
  readonly payments = new Map<string, SimPayment>();
  readonly faults = new Map<string, Set<FaultMode>>();
  /** Remaining failures of a counted fault (e.g. refundFailsTwice), per payment. */
  readonly faultBudget = new Map<string, number>();
  counts: SimCounts = { calls: {}, refundsExecuted: {}, webhooksSent: {} };
  lateWebhookMs = 3000;

  count(provider: SimProvider, operation: string): void {
    const key = `${provider} ${operation}`;
    this.counts.calls[key] = (this.counts.calls[key] ?? 0) + 1;
  }

  hasFault(paymentRef: string, mode: FaultMode): boolean {
    return this.faults.get(paymentRef)?.has(mode) ?? false;
  }

  setFaults(paymentRef: string, modes: FaultMode[]): void {
    this.faults.set(paymentRef, new Set(modes));
    this.faultBudget.delete(`${paymentRef} refundFailsTwice`);
    this.faultBudget.delete(`${paymentRef} refundLosesAnswer`);
  }

  /** For counted faults: true while the fault still has failures to give (refundFailsTwice: 2). */
  takeFault(paymentRef: string, mode: 'refundFailsTwice' | 'refundLosesAnswer'): boolean {
    if (!this.hasFault(paymentRef, mode)) return false;
    const key = `${paymentRef} ${mode}`;
    const left = this.faultBudget.get(key) ?? (mode === 'refundFailsTwice' ? 2 : 1);
    if (left <= 0) return false;
    this.faultBudget.set(key, left - 1);
    return true;
  }

  recordRefund(provider: SimProvider): void {
    this.counts.refundsExecuted[provider] = (this.counts.refundsExecuted[provider] ?? 0) + 1;
  }

  recordWebhook(provider: SimProvider): void {
    this.counts.webhooksSent[provider] = (this.counts.webhooksSent[provider] ?? 0) + 1;
  }

  reset(): void {
    this.payments.clear();
    this.faults.clear();
    this.faultBudget.clear();
    this.counts = { calls: {}, refundsExecuted: {}, webhooksSent: {} };
  }
}
