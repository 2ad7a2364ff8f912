import { render } from 'preact';
import '../shared/styles.css';
import { loadConfig } from '../shared/config';
import { useSession } from '../shared/session';
import { SessionBadge, SignInBox } from '../shared/sign-in';

/** The admin console at /console/ (a placeholder: the console's pages land on branch web-host). */
function Console() {
  const session = useSession();
  return (
    <>
      <header class="top">
        <a href="/console/">Ticketing console</a>
        <nav aria-label="Console" />
        <SessionBadge session={session} />
      </header>
      <main>
        <h1>Console</h1>
        {session?.admin ? <p>Signed in as an administrator.</p> : <SignInBox admin />}
      </main>
    </>
  );
}

await loadConfig();
render(<Console />, document.getElementById('app')!);
