import { api } from '../shared/api';
import { dateTime } from '../shared/format';
import { errorText, useLoad, useTitle } from '../shared/hooks';
import { href } from '../shared/router';

const SCHEDULE_STATUS = { sales_open: 'On sale', closed: 'Sales closed', cancelled: 'Cancelled' } as const;

/** `#/concerts/:id` — a concert and its performances. */
export function ConcertPage(props: { concertId: number }) {
  const concert = useLoad(() => api.getConcert(props.concertId), [props.concertId]);
  const c = concert.value;
  useTitle(c?.title ?? 'Concert');
  if (concert.error)
    return (
      <p role="alert" class="error">
        {errorText(concert.error)}
      </p>
    );
  if (!c) return <p aria-busy="true">Loading …</p>;
  return (
    <>
      <p class="crumbs">
        <a href={href('/')}>Concerts</a>
      </p>
      <h1>{c.title}</h1>
      <p>
        {c.artist}
        {c.genre && <span class="muted"> · {c.genre}</span>}
        {c.runtimeMinutes && <span class="muted"> · {c.runtimeMinutes} minutes</span>}
      </p>
      {c.description && <p>{c.description}</p>}
      <h2>Performances</h2>
      {c.schedules.length === 0 && <p>No performance is scheduled yet.</p>}
      <ul class="schedules">
        {c.schedules.map((s) => (
          <li key={s.id} class="card">
            <strong>{dateTime(s.startAt)}</strong> at {s.venue.name}{' '}
            <span class="muted">· {SCHEDULE_STATUS[s.status]}</span>{' '}
            {s.status === 'sales_open' ? (
              <a
                class="button"
                href={href(`/schedules/${s.id}`)}
                aria-label={`Choose seats for ${dateTime(s.startAt)}`}
              >
                Choose seats
              </a>
            ) : (
              <a href={href(`/schedules/${s.id}`)}>See the seat map</a>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
