import type { PaymentGateway } from '../../../domain/ports';
import type { PgAdapter } from '../pg-webhooks';

export interface PortOneOptions {
  apiBase: string;
  apiSecret: string;
  storeId: string;
  channelKey: string;
  timeoutMs: number;
}

/** PortOne V2, through @portone/server-sdk. */
export function portoneGateway(_options: PortOneOptions): PaymentGateway {
  throw new Error('not implemented yet');
}

/** PortOne's Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature): verified, then fetched. */
export function portoneWebhooks(_webhookSecret: string): PgAdapter {
  throw new Error('not implemented yet');
}
