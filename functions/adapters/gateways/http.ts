import { GatewayError } from '../../../domain/ports';

export interface RetryPolicy {
  /** Calls in all, the first included. */
  attempts: number;
  /** Delay before the second call; doubled for each further one, with jitter. */
  baseDelayMs: number;
}

/** Timeouts, 5xx and rate limits are worth a second try within one request; nothing else is. */
export const GATEWAY_RETRIES: RetryPolicy = { attempts: 3, baseDelayMs: 200 };

/**
 * Calls `call` until it succeeds or fails with something other than `unavailable`, at most
 * `policy.attempts` times. Safe only for calls the gateway makes idempotent (fetches, Toss's confirm
 * — answered ALREADY_PROCESSED_PAYMENT the second time — and cancels with an idempotency key).
 */
export async function withRetries<T>(
  call: () => Promise<T>,
  policy: RetryPolicy = GATEWAY_RETRIES,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof GatewayError) || error.kind !== 'unavailable' || attempt >= policy.attempts)
        throw error;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}

export interface GatewayResponse {
  status: number;
  /** The parsed JSON body, or undefined when there was none or it was not JSON. */
  body: unknown;
}

/**
 * One HTTP call to a gateway with a deadline. A timeout, a network error, a 5xx or a 429 is
 * `unavailable` (worth retrying); any other answer is returned for the adapter to read in its
 * gateway's terms.
 */
export async function callGateway(
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; timeoutMs: number },
  gatewayName: string,
): Promise<GatewayResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new GatewayError(
      'unavailable',
      timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
      `${gatewayName} ${timedOut ? `did not answer within ${init.timeoutMs} ms` : `could not be reached: ${(error as Error).message}`}`,
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status >= 500 || response.status === 429) {
    const code = (body as { code?: string } | undefined)?.code ?? `HTTP_${response.status}`;
    throw new GatewayError('unavailable', code, `${gatewayName} answered ${response.status}`);
  }
  return { status: response.status, body };
}
