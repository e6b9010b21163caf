import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Session } from './api.js';
import { Header } from './header.js';
import { interceptLinks, useLocation } from './router.js';
import { RunPage } from './run-page.js';
import { RunsPage } from './runs-page.js';
import { SignIn } from './sign-in.js';
import './styles.css';

// Session storage: gone when the tab closes, never in a URL, never sent anywhere but this origin.
const TOKEN_KEY = 'openhands-runner.token';

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY));
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = (message: string | null = null) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setNotice(message);
    setToken(null);
  };
  const session = useMemo(() => (token ? new Session(token, signOut) : null), [token]);
  useEffect(() => () => session?.close(), [session]);
  const { path, query } = useLocation();

  if (!session)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setNotice(null);
          setToken(t);
        }}
      />
    );
  const runMatch = /^\/runs\/([^/]+)\/?$/.exec(path);
  return (
    <>
      <Header session={session} onSignOut={() => signOut()} />
      {runMatch ? (
        <RunPage key={runMatch[1]} session={session} runId={decodeURIComponent(runMatch[1])} />
      ) : (
        <RunsPage session={session} query={query} />
      )}
    </>
  );
}

interceptLinks();
render(<App />, document.getElementById('app')!);
