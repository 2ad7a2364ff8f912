import { render } from 'preact';
import '../shared/styles.css';
import './console.css';
import { loadConfig } from '../shared/config';
import { href, useRoute } from '../shared/router';
import { useSession } from '../shared/session';
import { SessionBadge, SignInBox } from '../shared/sign-in';
import { ConcertPage, ConcertsPage, NewConcertPage, NewVenuePage } from './catalog';
import { ReconciliationPage, SalesPage } from './reports';
import { NewSchedulePage, SchedulePage } from './schedules';

/**
 * The admin console at /console/: concerts, venues and performances, sales opened, closed or
 * cancelled, the waiting room, and the reports. Every page needs an administrator's session (a
 * token with the admin group); the API checks it again on every call.
 */
function Console() {
  const route = useRoute();
  const session = useSession();
  return (
    <>
      <a class="skip" href="#main">
        Skip to the page
      </a>
      <header class="top">
        <a href={href('/')}>Ticketing console</a>
        <nav aria-label="Console">
          <a href={href('/')}>Concerts</a>
          <a href={href('/venues/new')}>New venue</a>
          <a href={href('/schedules/new')}>New performance</a>
          <a href={href('/sales')}>Sales</a>
          <a href={href('/reconciliation')}>Reconciliation</a>
        </nav>
        <SessionBadge session={session} />
      </header>
      <main id="main" tabIndex={-1}>
        {session?.admin ? (
          <Page parts={route.parts} params={route.params} />
        ) : (
          <>
            <h1>Console</h1>
            {session && <p class="error">{session.sub} is not an administrator: sign in as one.</p>}
            <p>The console is for the people who run the on-sales. Sign in as an administrator.</p>
            <SignInBox admin />
          </>
        )}
      </main>
    </>
  );
}

function Page(props: { parts: string[]; params: URLSearchParams }) {
  const [first, second] = props.parts;
  const id = Number(second);
  switch (first) {
    case undefined:
      return <ConcertsPage />;
    case 'concerts':
      if (second === 'new') return <NewConcertPage />;
      if (Number.isInteger(id) && id > 0) return <ConcertPage id={id} />;
      return <ConcertsPage />;
    case 'venues':
      return <NewVenuePage />;
    case 'schedules':
      if (second === 'new') return <NewSchedulePage params={props.params} />;
      if (Number.isInteger(id) && id > 0) return <SchedulePage id={id} />;
      break;
    case 'sales':
      return <SalesPage params={props.params} />;
    case 'reconciliation':
      return <ReconciliationPage />;
  }
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no such page. <a href={href('/')}>See the concerts</a>.
      </p>
    </>
  );
}

await loadConfig();
render(<Console />, document.getElementById('app')!);
