import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type Schedule, type WaitlistEntry } from '../shared/api';
import { dateTime, money } from '../shared/format';
import { errorText, useLoad, useTitle } from '../shared/hooks';
import { href } from '../shared/router';
import { useSession } from '../shared/session';
import { SignInBox } from '../shared/sign-in';
import type { SeatModel } from './seat-map/model';
import { SeatWishFields, seatWishOf } from './seat-wish';

/** How often the wait-list page looks for an offer while it is open and visible. */
const WAITLIST_POLL_MS = 5000;

const STATUS_TEXT: Record<WaitlistEntry['status'], string> = {
  waiting: 'Waiting',
  offered: 'Seats offered',
  accepted: 'Bought',
  lapsed: 'Offer ran out',
  declined: 'Offer declined',
  left: 'Left',
  closed: 'Closed',
};

const live = (e: WaitlistEntry) => e.status === 'waiting' || e.status === 'offered';

/** "2 seats · section A · STD · up to ₩100,000" — what an entry waits for. */
function wish(e: WaitlistEntry): string {
  return [
    `${e.quantity} seat${e.quantity === 1 ? '' : 's'} together`,
    e.section && `section ${e.section}`,
    e.seatType?.toUpperCase(),
    e.maxPrice && `up to ${money(e.maxPrice)} each`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Where an entry stands, in a sentence; an offer links to its order (countdown and payment there). */
function EntryState(props: { entry: WaitlistEntry }) {
  const { entry } = props;
  if (entry.status === 'waiting')
    return (
      <p>
        You are <strong>number {entry.position}</strong> in line. When seats like these come free we hold them
        for you.
      </p>
    );
  if (entry.status === 'offered' && entry.orderId)
    return (
      <p>
        <strong>Seats were freed for you and are held.</strong>{' '}
        <a class="button" href={href(`/orders/${entry.orderId}`)}>
          See the offer and pay
        </a>
      </p>
    );
  if (entry.status === 'accepted' && entry.orderId)
    return (
      <p>
        You bought the offered seats: <a href={href(`/orders/${entry.orderId}`)}>order {entry.orderId}</a>.
      </p>
    );
  return null;
}

/**
 * The schedule page's "Join the wait-list" form, or where the fan's entry stands. Open at once
 * when the performance is sold out (or best-available found nothing), folded away otherwise.
 */
export function WaitlistBox(props: { schedule: Schedule; model: SeatModel; soldOut: boolean }) {
  const scheduleId = props.schedule.id;
  const [entry, setEntry] = useState<WaitlistEntry>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const findMine = () =>
    api.listMyWaitlist().then(
      (page) => setEntry(page.items.find((e) => e.scheduleId === scheduleId && live(e))),
      () => {},
    );
  useEffect(() => void findMine(), [scheduleId]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const wish = seatWishOf(e);
    setBusy(true);
    setError(undefined);
    try {
      setEntry(await api.joinWaitlist(scheduleId, wish));
    } catch (err) {
      setError(errorText(err));
      if (err instanceof ApiError && err.code === 'ALREADY_WAITLISTED') void findMine();
    } finally {
      setBusy(false);
    }
  };

  if (entry)
    return (
      <section class="card waitlist" aria-labelledby="waitlist-title">
        <h2 id="waitlist-title">You are on the wait-list</h2>
        <p class="muted">{wish(entry)}</p>
        <EntryState entry={entry} />
        <p>
          <a href={href('/waitlist')}>Your wait-lists</a>
        </p>
      </section>
    );

  const form = (
    <form class="waitlist" onSubmit={submit} aria-labelledby="waitlist-title">
      <h2 id="waitlist-title">Join the wait-list</h2>
      <p class="muted">
        {props.soldOut ? 'Sold out for now. ' : ''}When seats like these come free — someone cancels or does
        not pay — they are held for you first, and you have a few minutes to pay.
      </p>
      <SeatWishFields model={props.model} />
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        Join the wait-list
      </button>
    </form>
  );
  return props.soldOut ? (
    form
  ) : (
    <details class="waitlist-fold">
      <summary>Nothing that suits you free? The wait-list</summary>
      {form}
    </details>
  );
}

/** `#/waitlist` — the fan's wait-list entries: where each stands, offers to pay, leaving. */
export function MyWaitlist() {
  const session = useSession();
  useTitle('My wait-lists');
  if (!session)
    return (
      <>
        <h1>My wait-lists</h1>
        <SignInBox />
      </>
    );
  return <WaitlistEntries sub={session.sub} />;
}

function WaitlistEntries(props: { sub: string }) {
  const first = useLoad(() => api.listMyWaitlist(), [props.sub]);
  const [older, setOlder] = useState<WaitlistEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [changed, setChanged] = useState<Map<number, WaitlistEntry>>(new Map());
  const [schedules, setSchedules] = useState<Map<number, Schedule>>(new Map());

  useEffect(() => setCursor(first.value?.nextCursor ?? null), [first.value?.nextCursor]);
  // an offer appears without a reload: the first page is asked for again while the page is seen
  useEffect(() => {
    const timer = setInterval(
      () => document.visibilityState === 'visible' && first.reload(),
      WAITLIST_POLL_MS,
    );
    return () => clearInterval(timer);
  }, [props.sub]);

  const seen = new Set<number>();
  const entries = [...(first.value?.items ?? []), ...older]
    .filter((e) => !seen.has(e.id) && seen.add(e.id))
    .map((e) => changed.get(e.id) ?? e);

  // each performance's name, asked for once
  const missing = [...new Set(entries.map((e) => e.scheduleId))].filter((id) => !schedules.has(id));
  useEffect(() => {
    for (const id of missing)
      api.getSchedule(id).then(
        (s) => setSchedules((m) => new Map(m).set(id, s)),
        () => {},
      );
  }, [missing.join()]);

  const more = async () => {
    const page = await api.listMyWaitlist(cursor ?? undefined);
    setOlder((o) => [...o, ...page.items]);
    setCursor(page.nextCursor);
  };
  return (
    <>
      <h1>My wait-lists</h1>
      {first.error && (
        <p role="alert" class="error">
          {errorText(first.error)}
        </p>
      )}
      {first.value && entries.length === 0 && (
        <p>
          You are on no wait-list. When a performance is sold out, join its wait-list on its seat map.{' '}
          <a href={href('/')}>Find a concert</a>.
        </p>
      )}
      <ul class="orders">
        {entries.map((entry) => (
          <li key={entry.id}>
            <EntryCard
              entry={entry}
              schedule={schedules.get(entry.scheduleId)}
              onChange={(e) => setChanged((m) => new Map(m).set(e.id, e))}
            />
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" class="secondary" onClick={more}>
          Show older entries
        </button>
      )}
    </>
  );
}

function EntryCard(props: {
  entry: WaitlistEntry;
  schedule: Schedule | undefined;
  onChange: (entry: WaitlistEntry) => void;
}) {
  const { entry, schedule } = props;
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const leave = async () => {
    setBusy(true);
    setError(undefined);
    try {
      props.onChange(await api.leaveWaitlist(entry.id));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const title = schedule
    ? `${schedule.concert.title}, ${dateTime(schedule.startAt)}`
    : `Performance ${entry.scheduleId}`;
  return (
    <article class="card order" aria-labelledby={`entry-${entry.id}`}>
      <h2 id={`entry-${entry.id}`}>
        <a href={href(`/schedules/${entry.scheduleId}`)}>{title}</a>{' '}
        <span class={`badge ${entry.status}`}>{STATUS_TEXT[entry.status]}</span>
      </h2>
      <p class="muted">
        {wish(entry)} · joined {dateTime(entry.createdAt)}
      </p>
      <EntryState entry={entry} />
      {live(entry) && (
        <button type="button" class="secondary" disabled={busy} onClick={leave}>
          {entry.status === 'offered' ? 'Decline the offer and leave' : 'Leave the wait-list'}
        </button>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </article>
  );
}
