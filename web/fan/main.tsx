import { render } from 'preact';
import '../shared/styles.css';
import './fan.css';
import { loadConfig } from '../shared/config';
import { href, useRoute } from '../shared/router';
import { useSession } from '../shared/session';
import { SessionBadge } from '../shared/sign-in';
import { ConcertList } from './concerts';

/** The fan app at `/`: concerts, a concert's performances, the seat map, checkout and orders. */
function App() {
  const route = useRoute();
  const session = useSession();
  return (
    <>
      <header class="top">
        <a href={href('/')}>Concert tickets</a>
        <nav aria-label="Main">
          <a href={href('/')}>Concerts</a>
          <a href={href('/orders')}>My orders</a>
        </nav>
        <SessionBadge session={session} />
      </header>
      <main id="main" tabIndex={-1}>
        <Page parts={route.parts} params={route.params} />
      </main>
    </>
  );
}

function Page(props: { parts: string[]; params: URLSearchParams }) {
  const [first] = props.parts;
  switch (first) {
    case undefined:
    case 'concerts':
      return <ConcertList params={props.params} />;
    default:
      return (
        <>
          <h1>Not found</h1>
          <p>
            There is no such page. <a href={href('/')}>See the concerts</a>.
          </p>
        </>
      );
  }
}

await loadConfig();
render(<App />, document.getElementById('app')!);
