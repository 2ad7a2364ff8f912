import type { SignedProvider } from '../../../db/vocabulary';
import { fromCents, toCents } from '../../../domain/money';
import { GatewayError, type GatewayPayment, type PaymentGateway } from '../../../domain/ports';
import { refundKeyIn } from '../../../domain/refunds';
import { sign } from '../pg-webhooks';
import { callGateway, withRetries } from './http';

export interface BuiltinOptions {
  provider: SignedProvider;
  apiBase: string;
  secret: string;
  timeoutMs: number;
}

/**
 * The built-in gateway behind `card`, `kakao` and `naver`: payments arrive as signed webhooks (the
 * format in API.md), and the rest is a small signed API of the same kind — requests carry
 * `PG-Signature` over their body with the shared secret, and a cancel carries `Idempotency-Key`:
 *
 *   GET  {base}/v1/payments/{paymentRef}          the payment, with its cancels (amount, idempotencyKey)
 *   POST {base}/v1/payments/{paymentRef}/cancel   { amount, reason } → { cancelledAmount, cancelledAt }
 *
 * Errors are `{ code, message }`. Locally the simulator (local/pg-simulator/builtin.ts) serves it.
 */
export function builtinGateway(options: BuiltinOptions): PaymentGateway {
  const name = `The ${options.provider} gateway`;
  const call = (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const raw = body === undefined ? '' : JSON.stringify(body);
    return callGateway(
      `${options.apiBase}${path}`,
      {
        method,
        headers: {
          'pg-signature': sign(options.secret, raw),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : raw,
        timeoutMs: options.timeoutMs,
      },
      name,
    );
  };

  async function fetchPayment(paymentRef: string): Promise<GatewayPayment> {
    const { status, body } = await withRetries(() =>
      call('GET', `/v1/payments/${encodeURIComponent(paymentRef)}`),
    );
    if (status !== 200) throw rejected(body, status);
    const p = body as BuiltinPayment;
    return {
      paymentRef: p.paymentRef,
      pgTid: p.pgTid,
      status: p.status,
      amount: money(p.amount),
      cancelledAmount: money(p.cancelledAmount),
      cancels: (p.cancels ?? []).map((c) => ({
        amount: money(c.amount),
        refundKey: refundKeyIn(c.idempotencyKey),
      })),
      approvedAt: p.approvedAt,
      ...(p.failure ? { failure: p.failure } : {}),
    };
  }

  return {
    checkout: ({ paymentId, paymentRef, amount }) => ({
      paymentId,
      paymentRef,
      amount,
      checkoutUrl: `${options.apiBase}/checkout?${new URLSearchParams({
        provider: options.provider,
        paymentId: String(paymentId),
        paymentRef,
        amount,
      })}`,
    }),
    async confirm() {
      throw new GatewayError(
        'rejected',
        'CONFIRM_NOT_SUPPORTED',
        `${options.provider} payments are confirmed by the gateway's signed webhook, not by a confirm call`,
      );
    },
    fetch: ({ paymentRef }) => fetchPayment(paymentRef),
    async cancel({ paymentRef, amount, reason, idempotencyKey }) {
      const { status, body } = await withRetries(() =>
        call(
          'POST',
          `/v1/payments/${encodeURIComponent(paymentRef)}/cancel`,
          { amount, reason },
          {
            'idempotency-key': idempotencyKey,
          },
        ),
      );
      if (status !== 200) throw rejected(body, status);
      return { cancelledAt: (body as { cancelledAt: string }).cancelledAt };
    },
  };
}

interface BuiltinPayment {
  paymentRef: string;
  pgTid: string | null;
  status: GatewayPayment['status'];
  amount: string;
  cancelledAmount: string;
  /** Each cancel, with the Idempotency-Key it was made under (null: made at the gateway on its own). */
  cancels?: { amount: string; idempotencyKey: string | null }[];
  approvedAt: string | null;
  failure?: { code: string; message: string };
}

const money = (value: string) => fromCents(toCents(value));

function rejected(body: unknown, status: number): GatewayError {
  const { code, message } = (body ?? {}) as { code?: string; message?: string };
  return new GatewayError('rejected', code ?? `HTTP_${status}`, message ?? `The gateway answered ${status}`);
}
