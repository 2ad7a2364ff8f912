import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Provider } from '../../db/vocabulary';
import { AppError, parseJson, parseWith } from '../../domain/errors';
import type { PaymentEvent } from '../../domain/payments';
import type { PaymentLookup } from '../../domain/ports';
import { WebhookEvent } from '../schemas';
import { gatewaySecrets } from './gateway-secrets';
import { portoneWebhooks } from './gateways/portone';
import { tossWebhooks } from './gateways/toss';
import { webhookSecret } from './webhook-secret';

/**
 * A provider adapter turns a PG's raw webhook (headers and the raw body bytes) into a verified,
 * normalised payment event — or refuses it. Every adapter maps its PG's format onto the domain's
 * `PaymentEvent`; the processor only ever sees that shape. Signatures are the PG's business, so
 * they are checked here, beside the other adapters, and never in the domain.
 *
 * Adding a real PG: write an adapter beside `signedAdapter` and register it in `adapters`. For
 * example Toss Payments sends status webhooks without a signature: its adapter must not trust the
 * body, but take only the paymentKey/orderId from it and confirm by fetching the payment from
 * Toss's API (GET /v1/payments/{paymentKey} with the secret key) before producing the event —
 * the fetched status and amount, not the posted ones, go into the normalised event.
 */
export interface PgAdapter {
  verify(headers: Record<string, string | undefined>, rawBody: string, now?: Date): Promise<WebhookNotice>;
}

/**
 * What a verified webhook says: a whole event (the built-in signed format, whose signature makes the
 * body the gateway's word), or only which payment changed (Toss, PortOne: the processor fetches it).
 */
export type WebhookNotice =
  | { kind: 'event'; event: PaymentEvent }
  | { kind: 'lookup'; lookup: PaymentLookup };

export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** `PG-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` */
export function sign(secret: string, rawBody: string, t = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

export function signedAdapter(secret: string): PgAdapter {
  return {
    async verify(headers, rawBody, now = new Date()) {
      const header = headers['pg-signature'];
      if (!header) throw new AppError('INVALID_SIGNATURE', 'PG-Signature header is missing');
      const parts = new Map(
        header.split(',').map((p) => {
          const i = p.indexOf('=');
          return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
        }),
      );
      const t = Number(parts.get('t'));
      const v1 = parts.get('v1') ?? '';
      if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/i.test(v1))
        throw new AppError('INVALID_SIGNATURE', 'PG-Signature is malformed');
      if (Math.abs(now.getTime() / 1000 - t) > SIGNATURE_TOLERANCE_SECONDS) {
        throw new AppError('INVALID_SIGNATURE', 'PG-Signature is too old (or from the future)');
      }
      const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
      // constant time, over the raw bytes received: never over re-serialised JSON
      if (!timingSafeEqual(expected, Buffer.from(v1, 'hex')))
        throw new AppError('INVALID_SIGNATURE', 'PG-Signature does not match');

      return { kind: 'event', event: parseWith(WebhookEvent, parseJson(rawBody), 'body') };
    },
  };
}

/** card, kakao and naver speak the built-in signed format; Toss and PortOne their own. */
export async function adapterFor(provider: Provider): Promise<PgAdapter> {
  switch (provider) {
    case 'card':
    case 'kakao':
    case 'naver':
      return signedAdapter(await webhookSecret());
    case 'toss':
      return tossWebhooks();
    case 'portone':
      return portoneWebhooks((await gatewaySecrets()).portoneWebhookSecret);
  }
}
