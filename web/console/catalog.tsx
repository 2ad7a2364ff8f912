import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type ConcertDetail } from '../shared/api';
import { errorText, useLoad } from '../shared/hooks';
import { href, navigate } from '../shared/router';
import { admin, type CreateVenue, type Venue } from './admin-api';
import { pageTitle, STATUS_TEXT, when } from './format';
import { Problem, useSubmit } from './forms';
import { rememberVenue } from './known';

/** `#/` — the concerts on sale and their performances: where every console task starts. */
export function ConcertsPage() {
  useEffect(() => pageTitle('Concerts'), []);
  const concerts = useLoad(async () => {
    const page = await api.listConcerts({ limit: 100 });
    return Promise.all(page.items.map((c) => api.getConcert(c.id)));
  }, []);
  return (
    <>
      <h1>Concerts</h1>
      <p class="row">
        <a class="button" href={href('/concerts/new')}>
          New concert
        </a>
        <a class="button secondary" href={href('/venues/new')}>
          New venue
        </a>
        <a class="button secondary" href={href('/schedules/new')}>
          New performance
        </a>
      </p>
      {concerts.error && (
        <p role="alert" class="error">
          {errorText(concerts.error)}
        </p>
      )}
      {concerts.value?.length === 0 && <p>No concert is on sale yet: create one.</p>}
      <div aria-busy={concerts.loading}>
        {concerts.value?.map((concert) => (
          <section class="card concert" key={concert.id} aria-labelledby={`concert-${concert.id}`}>
            <h2 id={`concert-${concert.id}`}>
              <a href={href(`/concerts/${concert.id}`)}>{concert.title}</a>
            </h2>
            <p class="muted">
              {concert.artist}
              {concert.genre && ` · ${concert.genre}`}
            </p>
            <SchedulesTable concert={concert} />
          </section>
        ))}
      </div>
    </>
  );
}

function SchedulesTable(props: { concert: ConcertDetail }) {
  if (props.concert.schedules.length === 0) return <p class="muted">No performance yet.</p>;
  return (
    <table>
      <caption class="visually-hidden">Performances of {props.concert.title}</caption>
      <thead>
        <tr>
          <th scope="col">Performance</th>
          <th scope="col">Venue</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {props.concert.schedules.map((s) => (
          <tr key={s.id}>
            <td>
              <a href={href(`/schedules/${s.id}`)}>{when(s.startAt)}</a>
            </td>
            <td>{s.venue.name}</td>
            <td>{STATUS_TEXT[s.status]}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `#/concerts/new` */
export function NewConcertPage() {
  useEffect(() => pageTitle('New concert'), []);
  const { submit, busy, error } = useSubmit(async (form) => {
    const runtime = Number(form.get('runtimeMinutes'));
    const concert = await admin.createConcert({
      title: String(form.get('title')).trim(),
      artist: String(form.get('artist')).trim(),
      genre: String(form.get('genre')).trim() || null,
      description: String(form.get('description')).trim() || null,
      runtimeMinutes: runtime > 0 ? runtime : null,
    });
    navigate(`/concerts/${concert.id}`);
  });
  return (
    <>
      <h1>New concert</h1>
      <form class="stack" aria-label="New concert" onSubmit={submit}>
        <label>
          Title
          <input name="title" required maxLength={200} />
        </label>
        <label>
          Artist
          <input name="artist" required maxLength={200} />
        </label>
        <label>
          Genre
          <input name="genre" maxLength={50} placeholder="rock, jazz, k-pop …" />
        </label>
        <label>
          Running time (minutes)
          <input name="runtimeMinutes" type="number" min={1} max={1440} />
        </label>
        <label>
          Description
          <textarea name="description" rows={3} maxLength={5000} />
        </label>
        <Problem error={error} />
        <button type="submit" disabled={busy}>
          Create the concert
        </button>
      </form>
    </>
  );
}

/** `#/concerts/{id}` — a concert, its performances, and taking it off sale. */
export function ConcertPage(props: { id: number }) {
  const concert = useLoad(() => api.getConcert(props.id), [props.id]);
  const [message, setMessage] = useState<string>();
  useEffect(() => pageTitle(concert.value?.title ?? 'Concert'), [concert.value]);
  const {
    submit: deactivate,
    busy,
    error,
  } = useSubmit(async () => {
    await admin.updateConcert(props.id, { isActive: false });
    setMessage('The concert is off sale: fans no longer see it.');
  });
  if (concert.error instanceof ApiError && concert.error.status === 404)
    return (
      <>
        <h1>Concert {props.id}</h1>
        <p>{message ?? 'This concert is not on sale (it does not exist or was taken off sale).'}</p>
      </>
    );
  if (!concert.value)
    return <p aria-busy="true">{concert.error ? errorText(concert.error) : 'Loading the concert…'}</p>;
  const c = concert.value;
  return (
    <>
      <h1>{c.title}</h1>
      <p class="muted">
        {c.artist}
        {c.genre && ` · ${c.genre}`}
        {c.runtimeMinutes && ` · ${c.runtimeMinutes} min`}
      </p>
      {c.description && <p>{c.description}</p>}
      <h2>Performances</h2>
      <SchedulesTable concert={c} />
      <p class="row">
        <a class="button" href={href(`/schedules/new?concert=${c.id}`)}>
          New performance
        </a>
      </p>
      <form aria-label="Take off sale" onSubmit={deactivate}>
        <button type="submit" class="danger" disabled={busy || Boolean(message)}>
          Take the concert off sale
        </button>
        <Problem error={error} />
        {message && (
          <p role="status" class="ok">
            {message}
          </p>
        )}
      </form>
    </>
  );
}

interface RowDraft {
  rowLabel: string;
  seats: number;
  seatType: string;
  basePrice: string;
}
interface SectionDraft {
  section: string;
  rows: RowDraft[];
}

const rowLabels = (count: number) =>
  Array.from({ length: count }, (_, i) => (i < 26 ? String.fromCharCode(65 + i) : String(i + 1)));

/**
 * `#/venues/new` — a venue's sections and rows: each section gets rows A, B, … of one seat type and
 * price, which can then be changed row by row. The API creates every seat in one call.
 */
export function NewVenuePage() {
  useEffect(() => pageTitle('New venue'), []);
  const [sections, setSections] = useState<SectionDraft[]>([
    {
      section: 'Floor',
      rows: rowLabels(5).map((l) => ({ rowLabel: l, seats: 20, seatType: 'VIP', basePrice: '150000' })),
    },
  ]);
  const [created, setCreated] = useState<Venue>();
  const total = sections.reduce((n, s) => n + s.rows.reduce((m, r) => m + (r.seats || 0), 0), 0);
  const update = (i: number, change: (s: SectionDraft) => SectionDraft) =>
    setSections(sections.map((s, j) => (j === i ? change(s) : s)));

  const { submit, busy, error } = useSubmit(async (form) => {
    const body: CreateVenue = {
      name: String(form.get('name')).trim(),
      address: String(form.get('address')).trim() || null,
      sections: sections.map((s) => ({
        section: s.section.trim(),
        rows: s.rows.map((r) => ({ ...r, basePrice: r.basePrice.trim() })),
      })),
    };
    const venue = await admin.createVenue(body);
    rememberVenue(venue);
    setCreated(venue);
  });

  if (created)
    return (
      <>
        <h1>Venue created</h1>
        <p role="status" class="ok">
          {created.name} (venue {created.id}) has {created.seatCount.toLocaleString('en')} seats.
        </p>
        <p>
          <a class="button" href={href(`/schedules/new?venue=${created.id}`)}>
            Create a performance at {created.name}
          </a>
        </p>
      </>
    );

  return (
    <>
      <h1>New venue</h1>
      <form class="stack" aria-label="New venue" onSubmit={submit}>
        <div class="row">
          <label>
            Name
            <input name="name" required maxLength={200} />
          </label>
          <label>
            Address
            <input name="address" maxLength={500} />
          </label>
        </div>
        {sections.map((section, i) => (
          <fieldset key={i} class="card">
            <legend>Section {i + 1}</legend>
            <div class="row">
              <label>
                Section name
                <input
                  value={section.section}
                  required
                  maxLength={50}
                  onInput={(e) => update(i, (s) => ({ ...s, section: e.currentTarget.value }))}
                />
              </label>
              <SectionRowsMaker
                onMake={(rows) => update(i, (s) => ({ ...s, rows }))}
                label={section.section || `section ${i + 1}`}
              />
              {sections.length > 1 && (
                <button
                  type="button"
                  class="secondary"
                  onClick={() => setSections(sections.filter((_, j) => j !== i))}
                >
                  Remove section {section.section}
                </button>
              )}
            </div>
            <table>
              <caption class="visually-hidden">Rows of section {section.section}</caption>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Seats</th>
                  <th scope="col">Seat type</th>
                  <th scope="col">Base price (₩)</th>
                </tr>
              </thead>
              <tbody>
                {section.rows.map((row, r) => {
                  const set = (change: Partial<RowDraft>) =>
                    update(i, (s) => ({
                      ...s,
                      rows: s.rows.map((x, k) => (k === r ? { ...x, ...change } : x)),
                    }));
                  const name = `${section.section} row ${row.rowLabel}`;
                  return (
                    <tr key={r}>
                      <td>
                        <input
                          aria-label={`${name}: label`}
                          value={row.rowLabel}
                          required
                          maxLength={20}
                          size={4}
                          onInput={(e) => set({ rowLabel: e.currentTarget.value })}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`${name}: seats`}
                          type="number"
                          min={1}
                          max={2000}
                          value={row.seats}
                          required
                          onInput={(e) => set({ seats: Number(e.currentTarget.value) })}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`${name}: seat type`}
                          value={row.seatType}
                          required
                          maxLength={30}
                          size={8}
                          onInput={(e) => set({ seatType: e.currentTarget.value })}
                        />
                      </td>
                      <td>
                        <input
                          aria-label={`${name}: base price`}
                          value={row.basePrice}
                          required
                          inputMode="decimal"
                          pattern="\d+(\.\d{1,2})?"
                          size={10}
                          onInput={(e) => set({ basePrice: e.currentTarget.value })}
                        />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </fieldset>
        ))}
        <p class="row">
          <button
            type="button"
            class="secondary"
            onClick={() =>
              setSections([
                ...sections,
                {
                  section: `Section ${sections.length + 1}`,
                  rows: rowLabels(5).map((l) => ({
                    rowLabel: l,
                    seats: 20,
                    seatType: 'R',
                    basePrice: '100000',
                  })),
                },
              ])
            }
          >
            Add a section
          </button>
          <span class="muted" role="status">
            {total.toLocaleString('en')} seats in {sections.length} section{sections.length === 1 ? '' : 's'}
          </span>
        </p>
        <Problem error={error} />
        <button type="submit" disabled={busy}>
          Create the venue
        </button>
      </form>
    </>
  );
}

/** Makes a section's rows at once: N rows of M seats of one type and price. */
function SectionRowsMaker(props: { label: string; onMake: (rows: RowDraft[]) => void }) {
  const [rows, setRows] = useState(5);
  const [seats, setSeats] = useState(20);
  const [seatType, setSeatType] = useState('R');
  const [price, setPrice] = useState('100000');
  return (
    <fieldset class="maker">
      <legend>Make the rows of {props.label}</legend>
      <label>
        Rows
        <input
          type="number"
          min={1}
          max={1000}
          value={rows}
          onInput={(e) => setRows(Number(e.currentTarget.value))}
        />
      </label>
      <label>
        Seats a row
        <input
          type="number"
          min={1}
          max={2000}
          value={seats}
          onInput={(e) => setSeats(Number(e.currentTarget.value))}
        />
      </label>
      <label>
        Seat type
        <input value={seatType} size={8} onInput={(e) => setSeatType(e.currentTarget.value)} />
      </label>
      <label>
        Price (₩)
        <input value={price} size={10} inputMode="decimal" onInput={(e) => setPrice(e.currentTarget.value)} />
      </label>
      <button
        type="button"
        class="secondary"
        onClick={() =>
          props.onMake(
            rowLabels(Math.max(1, Math.min(rows, 1000))).map((rowLabel) => ({
              rowLabel,
              seats,
              seatType,
              basePrice: price,
            })),
          )
        }
      >
        Make rows
      </button>
    </fieldset>
  );
}
