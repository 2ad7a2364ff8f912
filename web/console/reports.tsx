import { useEffect } from 'preact/hooks';
import { errorText, useLoad } from '../shared/hooks';
import { href, navigate } from '../shared/router';
import { admin, type Reconciliation } from './admin-api';
import { BarChart } from './charts';
import { pageTitle, when, won } from './format';

/** `#/sales?groupBy=genre|artist&from=&to=` — tickets and revenue by genre or by artist. */
export function SalesPage(props: { params: URLSearchParams }) {
  const groupBy = props.params.get('groupBy') === 'artist' ? 'artist' : 'genre';
  const from = props.params.get('from') ?? '';
  const to = props.params.get('to') ?? '';
  useEffect(() => pageTitle(`Sales by ${groupBy}`), [groupBy]);
  const sales = useLoad(
    () =>
      admin.salesReport(
        groupBy,
        from ? new Date(`${from}T00:00:00`).toISOString() : undefined,
        to ? new Date(`${to}T23:59:59.999`).toISOString() : undefined,
      ),
    [groupBy, from, to],
  );
  const filter = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    for (const key of ['groupBy', 'from', 'to']) {
      const value = String(form.get(key) ?? '');
      if (value) params.set(key, value);
    }
    navigate(`/sales?${params}`);
  };
  const rows = sales.value ?? [];
  const key = (k: string) => k || (groupBy === 'genre' ? 'No genre' : 'No artist');
  return (
    <>
      <h1>Sales by {groupBy}</h1>
      <form class="row" aria-label="Sales report period" onSubmit={filter}>
        <label>
          Group by
          <select name="groupBy">
            <option value="genre" selected={groupBy === 'genre'}>
              Genre
            </option>
            <option value="artist" selected={groupBy === 'artist'}>
              Artist
            </option>
          </select>
        </label>
        <label>
          From
          <input name="from" type="date" defaultValue={from} />
        </label>
        <label>
          To
          <input name="to" type="date" defaultValue={to} />
        </label>
        <button type="submit">Show the sales</button>
      </form>
      {sales.error && (
        <p role="alert" class="error">
          {errorText(sales.error)}
        </p>
      )}
      <div aria-busy={sales.loading} class="charts">
        {sales.value && (
          <>
            <BarChart
              title={`Revenue by ${groupBy}`}
              columns={[groupBy === 'genre' ? 'Genre' : 'Artist', 'Revenue']}
              bars={rows.map((r) => ({ label: key(r.key), value: Number(r.revenue), text: won(r.revenue) }))}
            />
            <BarChart
              title={`Tickets sold by ${groupBy}`}
              columns={[groupBy === 'genre' ? 'Genre' : 'Artist', 'Tickets']}
              bars={rows.map((r) => ({ label: key(r.key), value: r.ticketsSold }))}
            />
          </>
        )}
      </div>
    </>
  );
}

/** `#/reconciliation` — the payments and refunds an operator has to look at. */
export function ReconciliationPage() {
  useEffect(() => pageTitle('Reconciliation'), []);
  const list = useLoad(() => admin.reconciliation(), []);
  if (!list.value)
    return (
      <>
        <h1>Reconciliation</h1>
        <p aria-busy={list.loading} role={list.error ? 'alert' : undefined}>
          {list.error ? errorText(list.error) : 'Loading…'}
        </p>
      </>
    );
  const r: Reconciliation = list.value;
  const empty =
    r.paidWithoutTicket.length +
      r.refundsToSend.length +
      r.failedRefunds.length +
      r.stuckPayments.length +
      r.flaggedPayments.length ===
    0;
  return (
    <>
      <h1>Reconciliation</h1>
      <p class="row">
        <button type="button" class="secondary" onClick={list.reload}>
          Check again
        </button>
      </p>
      {empty && (
        <p role="status" class="ok">
          Nothing to reconcile: every payment matches its tickets and every refund reached the gateway.
        </p>
      )}
      <Listing
        title="Refunds that failed"
        note="Given up on after the retries: money owed to a fan, refund it by hand."
        head={['Refund', 'Order', 'Amount', 'Attempts', 'Last error']}
        rows={r.failedRefunds.map((x) => [
          String(x.paymentId),
          String(x.orderId),
          won(x.amount),
          String(x.attempts),
          x.lastError ?? '',
        ])}
      />
      <Listing
        title="Paid without a ticket"
        note="The money was taken but the order holds no booked seat."
        head={['Payment', 'Order', 'Order status', 'Amount']}
        rows={r.paidWithoutTicket.map((x) => [
          String(x.paymentId),
          String(x.orderId),
          x.orderStatus,
          won(x.amount),
        ])}
      />
      <Listing
        title="Refunds on their way"
        note="Recorded, not yet accepted by the gateway; the worker keeps trying."
        head={['Refund', 'Order', 'Amount', 'Since', 'Attempts']}
        rows={r.refundsToSend.map((x) => [
          String(x.paymentId),
          String(x.orderId),
          won(x.amount),
          when(x.createdAt),
          String(x.attempts),
        ])}
      />
      <Listing
        title="Payments stuck"
        note="Started, with no word from the gateway past their deadline."
        head={['Payment', 'Order', 'Amount', 'Deadline']}
        rows={r.stuckPayments.map((x) => [
          String(x.paymentId),
          String(x.orderId),
          won(x.amount),
          x.expiresAt ? when(x.expiresAt) : '',
        ])}
      />
      <Listing
        title="Flagged payments"
        note="The gateway said something that did not fit (a wrong amount, a late success)."
        head={['Payment', 'Order', 'Flag']}
        rows={r.flaggedPayments.map((x) => [String(x.paymentId), String(x.orderId), x.flag])}
      />
      <p class="muted">
        <a href={href('/sales')}>Sales by genre and artist</a>
      </p>
    </>
  );
}

function Listing(props: { title: string; note: string; head: string[]; rows: string[][] }) {
  if (props.rows.length === 0) return null;
  return (
    <section class="card" aria-label={props.title}>
      <h2>
        {props.title} ({props.rows.length})
      </h2>
      <p class="muted">{props.note}</p>
      <table>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, i) => (
            <tr key={i}>
              {row.map((cell, j) => (
                <td key={j}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
