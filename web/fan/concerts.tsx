import { api } from '../shared/api';
import { errorText, useLoad, useTitle } from '../shared/hooks';
import { href, navigate } from '../shared/router';

/** `#/` — the concerts on sale, filtered by genre or artist, or searched. */
export function ConcertList(props: { params: URLSearchParams }) {
  const filters = {
    q: props.params.get('q') ?? '',
    genre: props.params.get('genre') ?? '',
    artist: props.params.get('artist') ?? '',
  };
  useTitle('Concerts');
  const concerts = useLoad(
    () => api.listConcerts({ ...filters, limit: 100 }),
    [filters.q, filters.genre, filters.artist],
  );
  const search = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const params = new URLSearchParams();
    for (const key of ['q', 'genre', 'artist']) {
      const value = String(form.get(key) ?? '').trim();
      if (value) params.set(key, value);
    }
    navigate(`/concerts${params.size ? `?${params}` : ''}`);
  };
  return (
    <>
      <h1>Concerts</h1>
      <form class="row" aria-label="Find concerts" onSubmit={search}>
        <label>
          Search
          <input name="q" type="search" defaultValue={filters.q} placeholder="Title, artist …" />
        </label>
        <label>
          Genre
          <input name="genre" defaultValue={filters.genre} placeholder="rock, jazz …" />
        </label>
        <label>
          Artist
          <input name="artist" defaultValue={filters.artist} />
        </label>
        <button type="submit">Search</button>
      </form>
      {concerts.error && (
        <p role="alert" class="error">
          {errorText(concerts.error)}
        </p>
      )}
      {concerts.value && concerts.value.items.length === 0 && <p>No concert matches.</p>}
      <ul class="cards" aria-busy={concerts.loading}>
        {concerts.value?.items.map((concert) => (
          <li class="card" key={concert.id}>
            <h2>
              <a href={href(`/concerts/${concert.id}`)}>{concert.title}</a>
            </h2>
            <p>
              {concert.artist}
              {concert.genre && <span class="muted"> · {concert.genre}</span>}
            </p>
            {concert.description && <p class="muted">{concert.description}</p>}
          </li>
        ))}
      </ul>
    </>
  );
}
