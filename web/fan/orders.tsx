import { useState } from 'preact/hooks';
import { api, type Order } from '../shared/api';
import { dateTime, money } from '../shared/format';
import { errorText, useLoad, useTitle } from '../shared/hooks';
import { href } from '../shared/router';
import { useSession } from '../shared/session';
import { SignInBox } from '../shared/sign-in';

const STATUS_TEXT: Record<Order['status'], string> = {
  created: 'Held',
  awaiting_payment: 'Paying',
  paid: 'Paid',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
};

export const StatusBadge = (props: { status: Order['status'] }) => (
  <span class={`badge ${props.status}`}>{STATUS_TEXT[props.status]}</span>
);

export function OrderItems(props: {
  order: Order;
  choose?: { chosen: Set<number>; toggle: (id: number) => void };
}) {
  return (
    <table>
      <caption class="visually-hidden">Seats of order {props.order.id}</caption>
      <thead>
        <tr>
          {props.choose && (
            <th scope="col">
              <span class="visually-hidden">Choose</span>
            </th>
          )}
          <th scope="col">Seat</th>
          <th scope="col">Price</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {props.order.items.map((item) => {
          const name = `${item.section} row ${item.rowLabel} seat ${item.number}`;
          return (
            <tr key={item.id}>
              {props.choose && (
                <td>
                  {item.status === 'booked' || item.status === 'held' ? (
                    <input
                      type="checkbox"
                      aria-label={`Cancel ${name}`}
                      checked={props.choose.chosen.has(item.id)}
                      onChange={() => props.choose!.toggle(item.id)}
                    />
                  ) : null}
                </td>
              )}
              <td>{name}</td>
              <td>{money(item.price)}</td>
              <td>{item.status}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const REFUND_TEXT = { requested: 'requested', sent: 'sent to your card', failed: 'failed — we are on it' };

/** The refunds of an order, as the payments list shows them. */
export function RefundStatus(props: { order: Order }) {
  const refunds = props.order.payments.filter((p) => p.status === 'refund');
  if (!refunds.length) return null;
  return (
    <ul class="refunds" aria-label="Refunds">
      {refunds.map((r) => (
        <li key={r.id}>
          Refund of <strong>{money(r.amount)}</strong>: {REFUND_TEXT[r.refundStatus ?? 'requested']}
          {r.refundedAt && ` on ${dateTime(r.refundedAt)}`}
        </li>
      ))}
    </ul>
  );
}

/** `#/orders` — the fan's orders, newest first, with cancel (whole or some seats) and refunds. */
export function MyOrders() {
  const session = useSession();
  useTitle('My orders');
  if (!session)
    return (
      <>
        <h1>My orders</h1>
        <SignInBox />
      </>
    );
  return <OrderList sub={session.sub} />;
}

function OrderList(props: { sub: string }) {
  const [pages, setPages] = useState<Order[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useLoad(async () => {
    const page = await api.listMyOrders();
    setPages([page.items]);
    setCursor(page.nextCursor);
    return page;
  }, [props.sub]);
  const more = async () => {
    const page = await api.listMyOrders(cursor ?? undefined);
    setPages((p) => [...p, page.items]);
    setCursor(page.nextCursor);
  };
  const replace = (order: Order) =>
    setPages((p) => p.map((items) => items.map((o) => (o.id === order.id ? order : o))));
  const orders = pages.flat();
  return (
    <>
      <h1>My orders</h1>
      {first.error && (
        <p role="alert" class="error">
          {errorText(first.error)}
        </p>
      )}
      {first.value && orders.length === 0 && (
        <p>
          No orders yet. <a href={href('/')}>Find a concert</a>.
        </p>
      )}
      <ul class="orders">
        {orders.map((order) => (
          <li key={order.id}>
            <OrderCard order={order} onChange={replace} />
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary" onClick={more}>
          Show older orders
        </button>
      )}
    </>
  );
}

function OrderCard(props: { order: Order; onChange: (order: Order) => void }) {
  const { order } = props;
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [confirming, setConfirming] = useState<'all' | 'some'>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const cancellable = order.items.some((i) => i.status === 'booked' || i.status === 'held');
  const open = order.status === 'paid' || order.status === 'created' || order.status === 'awaiting_payment';
  const toggle = (id: number) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  const cancel = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const itemIds = confirming === 'some' ? [...chosen] : undefined;
      props.onChange(await api.cancelOrder(order.id, itemIds));
      setChosen(new Set());
      setConfirming(undefined);
      // the refund is sent in the background: show when it has gone
      setTimeout(async () => props.onChange(await api.getOrder(order.id)), 2500);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const paid = order.status === 'paid';
  return (
    <article class="card order" aria-labelledby={`order-${order.id}`}>
      <h2 id={`order-${order.id}`}>
        <a href={href(`/orders/${order.id}`)}>Order {order.id}</a> <StatusBadge status={order.status} />{' '}
        <span class="muted">· {dateTime(order.createdAt)}</span>
      </h2>
      <OrderItems order={order} choose={open && cancellable ? { chosen, toggle } : undefined} />
      <p>
        Total <strong>{money(order.totalAmount)}</strong>
      </p>
      <RefundStatus order={order} />
      {open && cancellable && !confirming && (
        <div class="row">
          <button type="button" class="secondary" onClick={() => setConfirming('all')}>
            Cancel the whole order
          </button>
          <button
            type="button"
            class="secondary"
            disabled={chosen.size === 0}
            onClick={() => setConfirming('some')}
          >
            Cancel the chosen seats ({chosen.size})
          </button>
        </div>
      )}
      {confirming && (
        <fieldset class="confirm" aria-label="Confirm the cancellation">
          <p>
            {confirming === 'all'
              ? 'Cancel every seat of this order'
              : `Cancel ${chosen.size} seat${chosen.size === 1 ? '' : 's'}`}
            ? {paid && 'The money for them goes back to how you paid.'}
          </p>
          <button type="button" class="danger" disabled={busy} onClick={cancel}>
            Yes, cancel
          </button>{' '}
          <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>
            Keep them
          </button>
        </fieldset>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </article>
  );
}
