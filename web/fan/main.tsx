import { render } from 'preact';
import '../shared/styles.css';
import './fan.css';
import { loadConfig } from '../shared/config';
import { href, useRoute } from '../shared/router';
import { useSession } from '../shared/session';
import { SessionBadge } from '../shared/sign-in';
import { ConcertPage } from './concert';
import { ConcertList } from './concerts';
import { OrderPage } from './order';
import { MyOrders } from './orders';
import { SchedulePage } from './schedule';
import { MyWaitlist } from './waitlist';

/** The fan app at `/`: concerts, a concert's performances, the seat map, checkout, orders and wait-lists. */
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
          <a href={href('/waitlist')}>Wait-lists</a>
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
  const [first, id, more] = props.parts;
  const number = Number(id);
  const valid = Number.isSafeInteger(number) && number > 0;
  switch (first) {
    case undefined:
      return <ConcertList params={props.params} />;
    case 'concerts':
      if (!id) return <ConcertList params={props.params} />;
      if (valid) return <ConcertPage key={number} concertId={number} />;
      break;
    case 'schedules':
      if (valid) return <SchedulePage key={number} scheduleId={number} />;
      break;
    case 'waitlist':
      if (!id) return <MyWaitlist />;
      break;
    case 'orders': {
      if (!id) return <MyOrders />;
      const payment = Number(props.params.get('payment'));
      if (valid)
        return (
          <OrderPage
            key={`${number}/${more}`}
            orderId={number}
            outcome={more}
            paymentId={Number.isSafeInteger(payment) && payment > 0 ? payment : undefined}
          />
        );
      break;
    }
  }
  return <NotFound />;
}

function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no such page. <a href={href('/')}>See the concerts</a>.
      </p>
    </>
  );
}

void loadConfig();
render(<App />, document.getElementById('app')!);
