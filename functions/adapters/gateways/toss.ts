import type { PaymentGateway } from '../../../domain/ports';
import type { PgAdapter } from '../pg-webhooks';

export interface TossOptions {
  apiBase: string;
  clientKey: string;
  secretKey: string;
  timeoutMs: number;
}

/** Toss Payments API v1. */
export function tossGateway(_options: TossOptions): PaymentGateway {
  throw new Error('not implemented yet');
}

/** Toss's PAYMENT_STATUS_CHANGED webhook: unsigned, so it only names the payment to fetch. */
export function tossWebhooks(): PgAdapter {
  throw new Error('not implemented yet');
}
