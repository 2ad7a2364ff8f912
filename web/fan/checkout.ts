import { api, type Order, type PaymentStarted, type Provider } from '../shared/api';
import { loadConfig, type WebConfig } from '../shared/config';

/**
 * Paying: start a payment on the server, then hand the fan to the provider's window. Locally the
 * windows are the gateway simulator's pages; they come back to the app with the outcome:
 *
 * - toss: Toss's redirect flow. The window returns to the success URL with `paymentKey`, `orderId`
 *   (the payment's public id) and `amount` in the query, and the app confirms through
 *   POST /orders/{orderId}/payments/{paymentId}/confirm; to the fail URL with `code` and `message`.
 * - card / kakao / naver: the built-in gateway's page (`checkout.checkoutUrl`); its signed webhook
 *   tells the server, and the app, back with `status`, waits for the order to turn paid.
 */
export const PAYMENT_CHOICES: { provider: Provider; label: string }[] = [
  { provider: 'toss', label: 'Toss Payments' },
  { provider: 'card', label: 'Credit card' },
  { provider: 'kakao', label: 'KakaoPay' },
  { provider: 'naver', label: 'NaverPay' },
];

/** Where the provider's window sends the fan back: the order's page, with the outcome's route. */
const back = (orderId: number, outcome: string, paymentId: number) =>
  `${location.origin}/#/orders/${orderId}/${outcome}?payment=${paymentId}`;

/**
 * The methods this deployment can take: Toss only where its payment window is configured (a
 * deployment without one must not offer it, or the fan would start a payment nobody can finish).
 */
export function paymentChoices(settings: WebConfig): typeof PAYMENT_CHOICES {
  return PAYMENT_CHOICES.filter((choice) => choice.provider !== 'toss' || settings.checkout.toss);
}

export async function payWith(order: Order, provider: Provider): Promise<void> {
  const settings = await loadConfig();
  if (!paymentChoices(settings).some((choice) => choice.provider === provider))
    throw new Error(`${provider} is not available here`);
  const started = await api.startPayment(order.id, provider);
  location.assign(windowUrl(order, started, settings.checkout));
}

function windowUrl(order: Order, started: PaymentStarted, windows: WebConfig['checkout']): string {
  const checkout = started.checkout as Record<string, string | number>;
  if (started.provider === 'toss') {
    if (!windows.toss) throw new Error('No Toss payment window is configured');
    const url = new URL(windows.toss);
    for (const field of ['clientKey', 'orderId', 'orderName', 'amount', 'customerKey'])
      if (checkout[field] !== undefined) url.searchParams.set(field, String(checkout[field]));
    url.searchParams.set('successUrl', back(order.id, 'toss-success', started.id));
    url.searchParams.set('failUrl', back(order.id, 'toss-fail', started.id));
    return url.toString();
  }
  // the built-in gateway names its own window
  if (typeof checkout.checkoutUrl !== 'string') throw new Error('No payment window for this provider');
  const url = new URL(checkout.checkoutUrl);
  url.searchParams.set('redirectUrl', back(order.id, 'paid', started.id));
  return url.toString();
}

/**
 * What the provider's window put in the query of its way back; read once, then cleared. A window
 * that adds its fields with a URL parser puts them before the `#`; one that appends them to the
 * string lands them in the hash's own query: both are read.
 */
export function takeRedirectQuery(): URLSearchParams {
  const params = new URLSearchParams(location.search);
  const inHash = location.hash.indexOf('?');
  if (inHash >= 0)
    for (const [key, value] of new URLSearchParams(location.hash.slice(inHash + 1)))
      if (!params.has(key)) params.set(key, value);
  if (location.search) history.replaceState(null, '', `${location.pathname}${location.hash}`);
  return params;
}
