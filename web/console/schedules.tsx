import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../shared/api';
import { errorText, useLoad } from '../shared/hooks';
import { navigate } from '../shared/router';
import {
  type AdminSchedule,
  admin,
  type Cancellation,
  type ScheduleReport,
  type ScheduleStatus,
} from './admin-api';
import { StackedBar } from './charts';
import { isoOfLocal, localOfIso, pageTitle, STATUS_TEXT, when, won } from './format';
import { Problem, useSubmit } from './forms';
import { type KnownVenue, rememberedVenues } from './known';

/**
 * What the API last said of a schedule as an admin sees it (waiting room counts, cancellation): no
 * route reads it, the answers to POST and PATCH carry it, so the console keeps the latest per page load.
 */
const adminViews = new Map<number, AdminSchedule>();

/** The concerts on sale with their details, and every venue the console knows. */
function useCatalog() {
  return useLoad(async () => {
    const page = await api.listConcerts({ limit: 100 });
    const concerts = await Promise.all(page.items.map((c) => api.getConcert(c.id)));
    const venues = new Map<number, KnownVenue>();
    for (const v of rememberedVenues()) venues.set(v.id, v);
    for (const c of concerts) for (const s of c.schedules) venues.set(s.venue.id, s.venue);
    return { concerts, venues: [...venues.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  }, []);
}

/** `#/schedules/new?concert=&venue=` — a performance with its prices per seat type and waiting room. */
export function NewSchedulePage(props: { params: URLSearchParams }) {
  useEffect(() => pageTitle('New performance'), []);
  const catalog = useCatalog();
  const [venueId, setVenueId] = useState(Number(props.params.get('venue')) || undefined);
  const [waitingRoom, setWaitingRoom] = useState(false);
  const layout = useLoad(async () => (venueId ? api.getLayout(venueId) : undefined), [venueId]);
  const seatTypes = [
    ...new Set(layout.value?.sections.flatMap((s) => s.rows.map((r) => r.seatType)) ?? []),
  ].sort();
  const start = new Date(Date.now() + 7 * 86_400_000);
  start.setHours(19, 0, 0, 0);

  const { submit, busy, error } = useSubmit(async (form) => {
    const prices: Record<string, string> = {};
    for (const type of seatTypes) {
      const price = String(form.get(`price-${type}`) ?? '').trim();
      if (price) prices[type] = price;
    }
    const schedule = await admin.createSchedule({
      concertId: Number(form.get('concertId')),
      venueId: Number(form.get('venueId')),
      startAt: isoOfLocal(String(form.get('startAt'))),
      endAt: isoOfLocal(String(form.get('endAt'))),
      ...(Object.keys(prices).length ? { prices } : {}),
      ...(waitingRoom
        ? { waitingRoom: { enabled: true, admitPerMinute: Number(form.get('admitPerMinute')) } }
        : {}),
    });
    adminViews.set(schedule.id, schedule);
    navigate(`/schedules/${schedule.id}`);
  });

  if (!catalog.value)
    return (
      <p aria-busy="true">{catalog.error ? errorText(catalog.error) : 'Loading concerts and venues…'}</p>
    );
  const { concerts, venues } = catalog.value;
  return (
    <>
      <h1>New performance</h1>
      <form class="stack" aria-label="New performance" onSubmit={submit}>
        <div class="row">
          <label>
            Concert
            <select name="concertId" required>
              <option value="">Choose a concert</option>
              {concerts.map((c) => (
                <option key={c.id} value={c.id} selected={String(c.id) === props.params.get('concert')}>
                  {c.title} — {c.artist}
                </option>
              ))}
            </select>
          </label>
          <label>
            Venue
            <select
              name="venueId"
              required
              value={venueId ?? ''}
              onChange={(e) => setVenueId(Number(e.currentTarget.value) || undefined)}
            >
              <option value="">Choose a venue</option>
              {venues.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div class="row">
          <label>
            Starts
            <input name="startAt" type="datetime-local" required defaultValue={localOfIso(start)} />
          </label>
          <label>
            Ends
            <input
              name="endAt"
              type="datetime-local"
              required
              defaultValue={localOfIso(new Date(start.getTime() + 3 * 3_600_000))}
            />
          </label>
        </div>
        <fieldset class="card">
          <legend>Prices per seat type</legend>
          {!venueId && <p class="muted">Choose a venue to price its seat types.</p>}
          {layout.value && (
            <>
              <p class="muted">
                {layout.value.seatCount.toLocaleString('en')} seats. Leave a price empty to keep the seats'
                base price.
              </p>
              <div class="row">
                {seatTypes.map((type) => (
                  <label key={type}>
                    {type} (₩)
                    <input name={`price-${type}`} inputMode="decimal" pattern="\d+(\.\d{1,2})?" size={10} />
                  </label>
                ))}
              </div>
            </>
          )}
        </fieldset>
        <fieldset class="card">
          <legend>Waiting room</legend>
          <label class="inline">
            <input
              type="checkbox"
              checked={waitingRoom}
              onChange={(e) => setWaitingRoom(e.currentTarget.checked)}
            />
            Queue fans for this on-sale
          </label>
          {waitingRoom && (
            <label>
              Fans admitted a minute
              <input name="admitPerMinute" type="number" min={1} max={100000} defaultValue="100" required />
            </label>
          )}
        </fieldset>
        <Problem error={error} />
        <button type="submit" disabled={busy}>
          Create the performance
        </button>
      </form>
    </>
  );
}

/** How often the report and a cancellation's progress are read again. */
const REPORT_EVERY_MS = 5_000;
const PROGRESS_EVERY_MS = 2_000;

/** A cancellation is done once no order is left and every refund has reached the gateway (or failed). */
const cancellationDone = (c: Cancellation | undefined) =>
  c !== undefined && c.ordersLeft === 0 && c.refundsRequested === 0;

/**
 * `#/schedules/{id}` — a performance: open, close or cancel its sales (with the cancellation job's
 * progress), its waiting room, and its report, read again every few seconds.
 */
export function SchedulePage(props: { id: number }) {
  const schedule = useLoad(() => api.getSchedule(props.id), [props.id]);
  const report = useLoad(() => admin.scheduleReport(props.id), [props.id]);
  const [view, setView] = useState<AdminSchedule | undefined>(adminViews.get(props.id));
  const status: ScheduleStatus | undefined = view?.status ?? schedule.value?.status;
  const show = (next: AdminSchedule) => {
    adminViews.set(next.id, next);
    setView(next);
  };
  useEffect(
    () =>
      pageTitle(
        schedule.value ? `${schedule.value.concert.title}, ${when(schedule.value.startAt)}` : 'Performance',
      ),
    [schedule.value],
  );

  useEffect(() => {
    const timer = setInterval(report.reload, REPORT_EVERY_MS);
    return () => clearInterval(timer);
  }, [props.id]);

  // a cancelled schedule: sending the cancel again answers how far the job has got
  useEffect(() => {
    if (status !== 'cancelled' || cancellationDone(view?.cancellation)) return;
    const timer = setTimeout(
      () => admin.updateSchedule(props.id, { status: 'cancelled' }).then(show, () => undefined),
      view?.cancellation ? PROGRESS_EVERY_MS : 0,
    );
    return () => clearTimeout(timer);
  }, [status, view]);

  if (schedule.error instanceof ApiError && schedule.error.status === 404)
    return (
      <>
        <h1>Performance {props.id}</h1>
        <p>There is no such performance.</p>
      </>
    );
  if (!schedule.value)
    return <p aria-busy="true">{schedule.error ? errorText(schedule.error) : 'Loading the performance…'}</p>;
  const s = schedule.value;
  return (
    <>
      <h1>
        {s.concert.title} <span class="muted">· {when(s.startAt)}</span>
      </h1>
      <p>
        {s.venue.name} · until {when(s.endAt)} · <strong>{status && STATUS_TEXT[status]}</strong> ·{' '}
        <a href={`/#/schedules/${s.id}`}>Fans' page</a>
      </p>
      <SalesControls id={props.id} status={status} onChange={show} />
      {status === 'cancelled' && <CancellationProgress cancellation={view?.cancellation} />}
      <WaitingRoomControls
        id={props.id}
        enabled={view?.waitingRoom.enabled ?? s.waitingRoom.enabled}
        view={view}
        disabled={status === 'cancelled'}
        onChange={show}
      />
      <Report report={report.value} error={report.error} />
    </>
  );
}

function SalesControls(props: {
  id: number;
  status: ScheduleStatus | undefined;
  onChange: (s: AdminSchedule) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const change = async (status: ScheduleStatus) => {
    setBusy(true);
    setError(undefined);
    try {
      props.onChange(await admin.updateSchedule(props.id, { status }));
      setConfirming(false);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (props.status === 'cancelled') return null;
  return (
    <section class="card" aria-labelledby="sales">
      <h2 id="sales">Sales</h2>
      <p class="row">
        {props.status === 'closed' && (
          <button type="button" disabled={busy} onClick={() => change('sales_open')}>
            Open sales
          </button>
        )}
        {props.status === 'sales_open' && (
          <button type="button" class="secondary" disabled={busy} onClick={() => change('closed')}>
            Close sales
          </button>
        )}
        {!confirming && (
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Cancel the performance…
          </button>
        )}
      </p>
      {confirming && (
        <div role="alertdialog" aria-labelledby="cancel-title" aria-describedby="cancel-text" class="confirm">
          <p id="cancel-title">
            <strong>Cancel this performance?</strong>
          </p>
          <p id="cancel-text">
            Sales stop at once. Every unpaid order is cancelled and every paid one refunded; this cannot be
            undone.
          </p>
          <p class="row">
            <button type="button" class="danger" disabled={busy} onClick={() => change('cancelled')}>
              Yes, cancel it and refund the fans
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </p>
        </div>
      )}
      <Problem error={error} />
    </section>
  );
}

function CancellationProgress(props: { cancellation: Cancellation | undefined }) {
  const c = props.cancellation;
  const refunds = c ? c.refundsRequested + c.refundsSent + c.refundsFailed : 0;
  const done = cancellationDone(c);
  return (
    <section class="card" aria-labelledby="cancellation">
      <h2 id="cancellation">Cancellation</h2>
      {!c ? (
        <p aria-busy="true">Reading the cancellation's progress…</p>
      ) : (
        <>
          <p role="status">
            {done
              ? c.refundsFailed
                ? `Done, but ${c.refundsFailed} refund${c.refundsFailed === 1 ? '' : 's'} failed: see the reconciliation.`
                : 'Done: every order is cancelled or refunded.'
              : `In progress: ${c.ordersLeft} order${c.ordersLeft === 1 ? '' : 's'} left, ${c.refundsRequested} refund${c.refundsRequested === 1 ? '' : 's'} on the way.`}
          </p>
          {refunds > 0 && (
            <label>
              Refunds sent
              <progress max={refunds} value={c.refundsSent + c.refundsFailed}>
                {c.refundsSent} of {refunds}
              </progress>
            </label>
          )}
          <dl class="figures">
            <div>
              <dt>Orders left</dt>
              <dd>{c.ordersLeft}</dd>
            </div>
            <div>
              <dt>Refunds requested</dt>
              <dd>{c.refundsRequested}</dd>
            </div>
            <div>
              <dt>Refunds sent</dt>
              <dd>{c.refundsSent}</dd>
            </div>
            <div>
              <dt>Refunds failed</dt>
              <dd>{c.refundsFailed}</dd>
            </div>
          </dl>
        </>
      )}
    </section>
  );
}

function WaitingRoomControls(props: {
  id: number;
  enabled: boolean;
  view: AdminSchedule | undefined;
  disabled: boolean;
  onChange: (s: AdminSchedule) => void;
}) {
  const [enabled, setEnabled] = useState(props.enabled);
  useEffect(() => setEnabled(props.enabled), [props.enabled]);
  const room = props.view?.waitingRoom;
  const { submit, busy, error } = useSubmit(async (form) => {
    const rate = Number(form.get('admitPerMinute'));
    props.onChange(
      await admin.updateSchedule(props.id, {
        waitingRoom: { enabled, ...(enabled && rate > 0 ? { admitPerMinute: rate } : {}) },
      }),
    );
  });
  return (
    <section class="card" aria-labelledby="waiting-room">
      <h2 id="waiting-room">Waiting room</h2>
      <p>
        {props.enabled ? 'On' : 'Off'}
        {room?.enabled &&
          ` · ${room.admitPerMinute ?? '?'} fans a minute · ${room.joined} joined, admitted through ${room.admittedThrough}`}
      </p>
      <form class="row" aria-label="Waiting room settings" onSubmit={submit}>
        <label class="inline">
          <input
            type="checkbox"
            checked={enabled}
            disabled={props.disabled}
            onChange={(e) => setEnabled(e.currentTarget.checked)}
          />
          Queue fans
        </label>
        <label>
          Fans admitted a minute
          <input
            name="admitPerMinute"
            type="number"
            min={1}
            max={100000}
            defaultValue={String(room?.admitPerMinute ?? 100)}
            disabled={!enabled || props.disabled}
          />
        </label>
        <button type="submit" disabled={busy || props.disabled}>
          Save the waiting room
        </button>
      </form>
      <Problem error={error} />
    </section>
  );
}

function Report(props: { report: ScheduleReport | undefined; error: unknown }) {
  return (
    <section class="card" aria-labelledby="report">
      <h2 id="report">Report</h2>
      {props.error !== undefined && !props.report && <Problem error={props.error} />}
      {props.report && (
        <>
          <dl class="figures">
            <div>
              <dt>Revenue</dt>
              <dd>{won(props.report.revenue)}</dd>
            </div>
            <div>
              <dt>Paid orders</dt>
              <dd>{props.report.paidOrders.toLocaleString('en')}</dd>
            </div>
            <div>
              <dt>Seats sold</dt>
              <dd>
                {props.report.seats.booked.toLocaleString('en')} of{' '}
                {props.report.seats.total.toLocaleString('en')}
              </dd>
            </div>
          </dl>
          <StackedBar
            title="Seats by status"
            unit="Seats"
            parts={[
              { label: 'Booked', value: props.report.seats.booked, tone: 'part-booked' },
              { label: 'Awaiting payment', value: props.report.seats.pendingPayment, tone: 'part-pending' },
              { label: 'Held', value: props.report.seats.held, tone: 'part-held' },
              { label: 'Available', value: props.report.seats.available, tone: 'part-available' },
            ]}
          />
        </>
      )}
    </section>
  );
}
