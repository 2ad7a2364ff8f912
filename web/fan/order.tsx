import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Order, type Provider } from '../shared/api';
import { useConfig } from '../shared/config';
import { clock, dateTime, money } from '../shared/format';
import { errorText, useLoad, useTitle } from '../shared/hooks';
import { href, navigate } from '../shared/router';
import { useSession } from '../shared/session';
import { SignInBox } from '../shared/sign-in';
import { PAYMENT_CHOICES, paymentChoices, payWith, takeRedirectQuery } from './checkout';
import { OrderItems, RefundStatus, StatusBadge } from './orders';

/**
 * `#/orders/:id` — a held order: the seats, the hold counting down (extend once), the choice of
 * payment and the way to the provider's window; after payment, the confirmation. The provider's
 * window comes back to `#/orders/:id/toss-success`, `…/toss-fail` or `…/paid`.
 */
export function OrderPage(props: {
  orderId: number;
  outcome: string | undefined;
  paymentId: number | undefined;
}) {
  const session = useSession();
  useTitle(`Order ${props.orderId}`);
  if (!session)
    return (
      <>
        <h1>Order {props.orderId}</h1>
        <SignInBox />
      </>
    );
  return <OrderView {...props} />;
}

function OrderView(props: { orderId: number; outcome: string | undefined; paymentId: number | undefined }) {
  const [order, setOrder] = useState<Order>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [extended, setExtended] = useState(false);
  const settings = useConfig();
  const choices = settings ? paymentChoices(settings) : [];
  const [chosen, setProvider] = useState<Provider>();
  const provider = chosen ?? choices[0]?.provider;
  const redirect = useRef<URLSearchParams | undefined>(undefined);
  redirect.current ??= takeRedirectQuery();

  // the way back from the provider's window, handled once
  const confirmed = useLoad(async () => {
    const query = redirect.current!;
    if (props.outcome === 'toss-success' && props.paymentId && query.get('paymentKey')) {
      try {
        return await api.confirmPayment(props.orderId, props.paymentId, {
          paymentKey: query.get('paymentKey')!,
          amount: query.get('amount') ?? '',
        });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'PAYMENT_DECLINED')
          setError(`The payment was declined (${err.detail}). Your seats are back on sale.`);
        else setError(errorText(err));
        return api.getOrder(props.orderId);
      }
    }
    if (props.outcome === 'toss-fail')
      setNotice(
        `The payment did not go through: ${query.get('message') ?? query.get('code') ?? 'cancelled'}. You can try again while your seats are held.`,
      );
    if (
      props.outcome === 'paid' &&
      query.get('status') &&
      query.get('status') !== 'approved' &&
      query.get('status') !== 'paid'
    )
      setNotice('The payment was declined.');
    return api.getOrder(props.orderId);
  }, [props.orderId]);

  useEffect(() => {
    if (confirmed.value) setOrder(confirmed.value);
    if (confirmed.error) setError(errorText(confirmed.error));
  }, [confirmed.value, confirmed.error]);

  // while a payment is on its way (a webhook the server has yet to apply), look again
  useEffect(() => {
    if (order?.status !== 'awaiting_payment') return;
    const timer = setInterval(() => api.getOrder(order.id).then(setOrder, () => {}), 1500);
    return () => clearInterval(timer);
  }, [order?.id, order?.status]);

  if (!order)
    return error ? (
      <p role="alert" class="error">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Loading your order …</p>
    );

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const pending = order.status === 'created' || order.status === 'awaiting_payment';
  const paidPayment = order.payments.find((p) => p.status === 'success');

  return (
    <>
      <p class="crumbs">
        <a href={href(`/schedules/${order.scheduleId}`)}>Back to the seat map</a> ·{' '}
        <a href={href('/orders')}>My orders</a>
      </p>
      {order.status === 'paid' ? (
        <h1 class="ok">You have your tickets</h1>
      ) : (
        <h1>
          Order {order.id} <StatusBadge status={order.status} />
        </h1>
      )}
      {order.offer && pending && (
        <p class="notice">
          <strong>Offered from the wait-list:</strong> these seats came free and are held for you until the
          time below runs out; then they pass to the next person in line.
        </p>
      )}
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="card">
        <OrderItems order={order} />
        <p>
          Total <strong>{money(order.totalAmount)}</strong>
        </p>
        {order.status === 'paid' && paidPayment && (
          <p>
            Paid with{' '}
            {PAYMENT_CHOICES.find((c) => c.provider === paidPayment.provider)?.label ?? paidPayment.provider}
            {paidPayment.approvedAt && ` on ${dateTime(paidPayment.approvedAt)}`}. Order number{' '}
            <strong>{order.id}</strong>.
          </p>
        )}
        <RefundStatus order={order} />
      </div>

      {pending && order.holdExpiresAt && (
        <HoldCountdown
          order={order}
          extended={extended}
          busy={busy}
          onExtend={() =>
            act(async () => {
              try {
                setOrder(await api.extendHold(order.id));
                setNotice('Your seats are held a little longer.');
              } finally {
                setExtended(true);
              }
            })
          }
          onLapsed={() => api.getOrder(order.id).then(setOrder, () => {})}
        />
      )}

      {pending && (
        <section class="card pay" aria-labelledby="pay-title">
          <h2 id="pay-title">Pay</h2>
          <fieldset>
            <legend>Payment method</legend>
            {choices.map((choice) => (
              <label key={choice.provider} class="radio">
                <input
                  type="radio"
                  name="provider"
                  value={choice.provider}
                  checked={provider === choice.provider}
                  onChange={() => setProvider(choice.provider)}
                />
                {choice.label}
              </label>
            ))}
          </fieldset>
          <button
            type="button"
            disabled={busy || expired(order) || !provider}
            onClick={() => provider && act(() => payWith(order, provider))}
          >
            Pay {money(order.totalAmount)}
          </button>{' '}
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() =>
              act(async () => {
                await api.cancelOrder(order.id);
                navigate(`/schedules/${order.scheduleId}`);
              })
            }
          >
            Release these seats
          </button>
        </section>
      )}
      {(order.status === 'cancelled' || expired(order)) && (
        <p>
          <a class="button" href={href(`/schedules/${order.scheduleId}`)}>
            Choose seats again
          </a>
        </p>
      )}
    </>
  );
}

const expired = (order: Order) =>
  (order.status === 'created' || order.status === 'awaiting_payment') &&
  !!order.holdExpiresAt &&
  new Date(order.holdExpiresAt).getTime() <= Date.now();

/** The hold's time left, every second; announced to screen readers once a minute and at the end. */
function HoldCountdown(props: {
  order: Order;
  extended: boolean;
  busy: boolean;
  onExtend: () => void;
  onLapsed: () => void;
}) {
  const deadline = new Date(props.order.holdExpiresAt!).getTime();
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.ceil((deadline - now) / 1000));
  const lapsed = left === 0;
  useEffect(() => {
    if (lapsed) props.onLapsed();
  }, [lapsed]);
  if (lapsed)
    return (
      <p role="alert" class="error countdown">
        Your hold ran out: the seats went back on sale. You can choose seats again.
      </p>
    );
  const spoken =
    left > 60
      ? `${Math.ceil(left / 60)} minutes left`
      : left > 10
        ? 'Less than a minute left'
        : 'Seconds left';
  return (
    <section class={`card countdown${left <= 60 ? ' urgent' : ''}`} aria-labelledby="hold-title">
      <h2 id="hold-title">
        Your seats are held for <time aria-hidden="true">{clock(left)}</time>
      </h2>
      <p class="visually-hidden" aria-live="polite">
        {spoken}
      </p>
      <p class="muted">
        {props.order.status === 'created'
          ? 'Pay before the time runs out, or the seats go back on sale.'
          : 'Finish the payment in its window.'}
      </p>
      {/* an offer has its own deadline and cannot be extended (the next in line is waiting) */}
      {props.order.status === 'created' && !props.extended && !props.order.offer && (
        <button type="button" class="secondary" disabled={props.busy} onClick={props.onExtend}>
          I need more time (once)
        </button>
      )}
    </section>
  );
}
