import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type Availability, api, type CreateOrder, type Schedule } from '../shared/api';
import { dateTime, money } from '../shared/format';
import { errorText, useLoad, useTitle } from '../shared/hooks';
import { href, navigate } from '../shared/router';
import { useSession } from '../shared/session';
import { SignInBox } from '../shared/sign-in';
import { decodeAvailability, isAvailable, SeatModel } from './seat-map/model';
import { SeatCanvas, TIER_COLOURS } from './seat-map/seat-canvas';
import { SeatList } from './seat-map/seat-list';
import { type SeatWish, SeatWishFields, seatWishOf } from './seat-wish';
import { type Admission, admissionFor, forgetAdmission, WaitingRoom } from './waiting-room';
import { WaitlistBox } from './waitlist';

/** How often an open map asks whether any seat changed (a 304 while none did). */
const STATUS_POLL_MS = 3000;

/** `#/schedules/:id` — one performance: the waiting room when it is on, then the seat map. */
export function SchedulePage(props: { scheduleId: number }) {
  const schedule = useLoad(
    () =>
      api.getSchedule(props.scheduleId).then((s) => {
        // the layout is asked for at once, not a render later (api.getLayout keeps the promise)
        void api.getLayout(s.venue.id).catch(() => {});
        return s;
      }),
    [props.scheduleId],
  );
  const session = useSession();
  const [admission, setAdmission] = useState(() => admissionFor(props.scheduleId));
  const s = schedule.value;
  useTitle(s ? `${s.concert.title}, ${dateTime(s.startAt)}` : 'Performance');

  if (schedule.error)
    return (
      <p role="alert" class="error">
        {errorText(schedule.error)}
      </p>
    );
  if (!s) return <p aria-busy="true">Loading the performance …</p>;
  const waiting = s.waitingRoom.enabled && s.status === 'sales_open' && !admission;
  return (
    <>
      <p class="crumbs">
        <a href={href(`/concerts/${s.concert.id}`)}>{s.concert.title}</a>
      </p>
      <h1>
        {s.concert.title} <span class="muted">· {dateTime(s.startAt)}</span>
      </h1>
      <p>
        {s.concert.artist} at {s.venue.name}
        {s.status !== 'sales_open' && (
          <strong class="error"> · {s.status === 'closed' ? 'Sales are closed' : 'Cancelled'}</strong>
        )}
      </p>
      {waiting && !session && (
        <section class="card">
          <h2>Sign in to join the queue</h2>
          <SignInBox />
        </section>
      )}
      {waiting && session && (
        <WaitingRoom scheduleId={s.id} title={s.concert.title} onAdmitted={setAdmission} />
      )}
      {!waiting && (
        <SeatPicker
          schedule={s}
          admission={admission}
          onAdmissionRefused={() => {
            forgetAdmission(s.id);
            setAdmission(undefined);
          }}
        />
      )}
    </>
  );
}

interface Notice {
  kind: 'error' | 'info';
  text: string;
}

function SeatPicker(props: {
  schedule: Schedule;
  admission: Admission | undefined;
  onAdmissionRefused: () => void;
}) {
  const { schedule } = props;
  const session = useSession();
  const layout = useLoad(() => api.getLayout(schedule.venue.id), [schedule.venue.id]);
  const model = useMemo(() => (layout.value ? new SeatModel(layout.value) : undefined), [layout.value]);
  const [available, setAvailable] = useState<Uint8Array>();
  const [availability, setAvailability] = useState<Availability>();
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [cursor, setCursor] = useState<number>();
  const [view, setView] = useState<'map' | 'list'>('map');
  const [notice, setNotice] = useState<Notice>();
  const [busy, setBusy] = useState(false);
  // best-available found no block like the one asked for: the wait-list is the way on
  const [noBlock, setNoBlock] = useState(false);
  const etag = useRef<string | undefined>(undefined);
  // `ready` marks this page's map only
  useEffect(() => () => void delete document.body.dataset.seatMap, []);
  const selectedRef = useRef(selected);
  selectedRef.current = selected;

  const modelRef = useRef(model);
  modelRef.current = model;

  // the seat statuses, polled with If-None-Match while the page is open and visible; the first
  // request goes out with the layout's, not after it
  const refresh = useRef<() => Promise<void>>(async () => {});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      clearTimeout(timer);
      try {
        const status = await api.getSeatStatus(schedule.id, etag.current);
        if (stopped) return;
        if (status.changed) {
          etag.current = status.etag;
          const bits = decodeAvailability(status.body);
          setAvailable(bits);
          const gone = [...selectedRef.current].filter((i) => !isAvailable(bits, i));
          if (gone.length && modelRef.current) {
            setSelected(new Set([...selectedRef.current].filter((i) => isAvailable(bits, i))));
            setNotice({
              kind: 'error',
              text: `Someone else just took ${describe(modelRef.current, gone)}; it is no longer selected.`,
            });
          }
          api.getAvailability(schedule.id).then(
            (a) => !stopped && setAvailability(a),
            () => {},
          );
        }
      } catch {
        // a missed poll: the next one catches up
      }
      if (!stopped) timer = setTimeout(load, STATUS_POLL_MS);
    };
    refresh.current = load;
    const onVisible = () => document.visibilityState === 'visible' && void load();
    document.addEventListener('visibilitychange', onVisible);
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [schedule.id]);

  const prices = useMemo(() => {
    const bySeats = new Map<string, string>();
    for (const s of availability?.sections ?? [])
      if (s.minPrice) bySeats.set(`${s.section}|${s.seatType}`, s.minPrice);
    return bySeats;
  }, [availability]);
  const priceOf = (index: number) => {
    if (!model) return undefined;
    const seat = model.seat(index);
    const price = prices.get(`${seat.section}|${seat.seatType}`);
    return price ? money(price) : undefined;
  };

  if (layout.error)
    return (
      <p role="alert" class="error">
        {errorText(layout.error)}
      </p>
    );
  if (!model) return <p aria-busy="true">Loading the seat map …</p>;

  const toggle = (index: number) => {
    const next = new Set(selected);
    if (next.has(index)) next.delete(index);
    else if (isAvailable(available, index)) next.add(index);
    else {
      setNotice({ kind: 'error', text: `${describe(model, [index])} is taken.` });
      return;
    }
    setNotice(undefined);
    setSelected(next);
  };

  const hold = async (body: CreateOrder) => {
    setBusy(true);
    setNotice(undefined);
    try {
      const order = await api.createOrder(body, props.admission?.token);
      navigate(`/orders/${order.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SEAT_UNAVAILABLE') {
        const taken = err.seatIds.map((id) => model.indexOf(id)).filter((i) => i >= 0);
        // show them taken at once; the next poll confirms
        if (available) {
          const bits = available.slice();
          for (const i of taken) bits[i >> 3]! &= ~(0x80 >> (i & 7));
          setAvailable(bits);
        }
        setSelected(new Set([...selected].filter((i) => !taken.includes(i))));
        setNotice({
          kind: 'error',
          text: `Sorry — ${describe(model, taken)} ${taken.length === 1 ? 'was' : 'were'} taken by someone else a moment ago. Nothing was held; choose again.`,
        });
        void refresh.current();
      } else if (
        err instanceof ApiError &&
        (err.code === 'ADMISSION_REQUIRED' || err.code === 'ADMISSION_INVALID')
      ) {
        props.onAdmissionRefused();
      } else if (err instanceof ApiError && err.code === 'SOLD_OUT') {
        setNoBlock(true);
        setNotice({
          kind: 'error',
          text: `No block of seats like that is free together. Try fewer seats or other filters${
            schedule.waitlist.enabled ? ', or join the wait-list' : ''
          }.`,
        });
      } else setNotice({ kind: 'error', text: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const tiers = model.seatTypes.map((type, t) => {
    const sections = availability?.sections.filter((s) => s.seatType === type) ?? [];
    const min = sections
      .map((s) => s.minPrice)
      .filter((p): p is string => !!p)
      .sort((a, b) => Number(a) - Number(b))[0];
    return {
      type,
      colour: TIER_COLOURS[t % TIER_COLOURS.length]!,
      min,
      free: sections.reduce((n, s) => n + s.available, 0),
    };
  });
  const selectedList = [...selected].sort((a, b) => a - b);
  const onSale = schedule.status === 'sales_open';
  const soldOut = availability?.available === 0;

  return (
    <div class="picker">
      <div class="map-area">
        <fieldset class="row view-switch" aria-label="Show seats as">
          <button
            type="button"
            class="secondary"
            aria-pressed={view === 'map'}
            onClick={() => setView('map')}
          >
            Map
          </button>
          <button
            type="button"
            class="secondary"
            aria-pressed={view === 'list'}
            onClick={() => setView('list')}
          >
            List
          </button>
          <span class="muted" aria-live="polite">
            {availability
              ? `${availability.available.toLocaleString('en')} of ${availability.total.toLocaleString('en')} seats free`
              : ''}
          </span>
        </fieldset>
        {view === 'map' ? (
          <>
            <SeatCanvas
              model={model}
              available={available}
              selected={selected}
              cursor={cursor}
              label={`Seat map of ${schedule.venue.name}, ${model.seatCount.toLocaleString('en')} seats`}
              onCursor={setCursor}
              onToggle={toggle}
              onReady={() => {
                performance.mark('seat-map-interactive');
                document.body.dataset.seatMap = 'ready';
              }}
            />
            <p id="seat-map-help" class="hint">
              Drag to move, scroll or use + and − to zoom. With the keyboard: arrows move between seats, Enter
              selects, Page Up and Page Down jump between sections.
            </p>
            <p id="seat-map-cursor" class="seat-cursor" aria-live="polite">
              {cursor !== undefined &&
                `${describe(model, [cursor])}, ${model.seat(cursor).seatType.toUpperCase()}${priceOf(cursor) ? `, ${priceOf(cursor)}` : ''}, ${
                  selected.has(cursor) ? 'selected' : isAvailable(available, cursor) ? 'free' : 'taken'
                }`}
            </p>
          </>
        ) : (
          <SeatList
            model={model}
            available={available}
            selected={selected}
            priceOf={priceOf}
            onToggle={toggle}
          />
        )}
      </div>
      <aside class="side" aria-label="Your seats">
        <section aria-labelledby="legend-title">
          <h2 id="legend-title">Prices</h2>
          <ul class="legend">
            {tiers.map((t) => (
              <li key={t.type}>
                <span class="swatch" style={{ background: t.colour }} aria-hidden="true" />
                <strong>{t.type.toUpperCase()}</strong> {t.min ? `from ${money(t.min)}` : ''}{' '}
                <span class="muted">({t.free.toLocaleString('en')} free)</span>
              </li>
            ))}
            <li>
              <span class="swatch taken" aria-hidden="true" /> Taken
            </li>
            <li>
              <span class="swatch selected" aria-hidden="true" /> Your selection
            </li>
          </ul>
          <details>
            <summary>Sections</summary>
            <table>
              <thead>
                <tr>
                  <th scope="col">Section</th>
                  <th scope="col">Type</th>
                  <th scope="col">Free</th>
                  <th scope="col">From</th>
                </tr>
              </thead>
              <tbody>
                {availability?.sections.map((s) => (
                  <tr key={`${s.section}|${s.seatType}`}>
                    <td>{s.section}</td>
                    <td>{s.seatType.toUpperCase()}</td>
                    <td>
                      {s.available} / {s.total}
                    </td>
                    <td>{s.minPrice ? money(s.minPrice) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </section>

        {notice && (
          <p role="alert" class={notice.kind === 'error' ? 'error notice' : 'notice'}>
            {notice.text}
          </p>
        )}

        {!session ? (
          <section>
            <h2>Sign in to buy</h2>
            <SignInBox />
          </section>
        ) : !onSale ? null : (
          <>
            {schedule.waitlist.enabled && soldOut && (
              <WaitlistBox schedule={schedule} model={model} soldOut />
            )}
            <section aria-labelledby="selection-title">
              <h2 id="selection-title">Selected seats ({selected.size})</h2>
              {selectedList.length === 0 && (
                <p class="muted">Click seats on the map, or let us pick the best ones below.</p>
              )}
              <ul class="selection">
                {selectedList.map((i) => (
                  <li key={i}>
                    {describe(model, [i])} {priceOf(i) && <span class="muted">· {priceOf(i)}</span>}{' '}
                    <button
                      type="button"
                      class="link"
                      onClick={() => toggle(i)}
                      aria-label={`Remove ${describe(model, [i])}`}
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
              <button
                type="button"
                disabled={busy || selected.size === 0}
                onClick={() =>
                  hold({ scheduleId: schedule.id, seatIds: selectedList.map((i) => model.seat(i).seatId) })
                }
              >
                Hold {selected.size === 1 ? 'this seat' : `these ${selected.size} seats`}
              </button>
            </section>
            <BestAvailable
              model={model}
              availability={availability}
              busy={busy}
              onHold={(pick) => hold({ scheduleId: schedule.id, ...pick })}
            />
            {schedule.waitlist.enabled && !soldOut && (
              <WaitlistBox schedule={schedule} model={model} soldOut={noBlock} />
            )}
          </>
        )}
      </aside>
    </div>
  );
}

function BestAvailable(props: {
  model: SeatModel;
  availability: Availability | undefined;
  busy: boolean;
  onHold: (pick: SeatWish) => void;
}) {
  const submit = (e: Event) => {
    e.preventDefault();
    props.onHold(seatWishOf(e));
  };
  return (
    <form class="best" onSubmit={submit} aria-labelledby="best-title">
      <h2 id="best-title">Or: the best seats for you</h2>
      <SeatWishFields model={props.model} />
      <button type="submit" disabled={props.busy}>
        Find and hold the best seats
      </button>
    </form>
  );
}

/** "Floor row 3 seat 12" / "Floor row 3 seats 12, 13" — how a fan names seats. */
export function describe(model: SeatModel, indices: number[]): string {
  const groups = new Map<string, number[]>();
  for (const i of indices) {
    const seat = model.seat(i);
    const key = `${seat.section} row ${seat.rowLabel}`;
    groups.set(key, [...(groups.get(key) ?? []), seat.number]);
  }
  return [...groups]
    .map(
      ([where, numbers]) =>
        `${where} seat${numbers.length > 1 ? 's' : ''} ${numbers.sort((a, b) => a - b).join(', ')}`,
    )
    .join('; ');
}
