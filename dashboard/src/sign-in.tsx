import { useState } from 'preact/hooks';
import { ApiError, checkToken } from './api.js';

function explain(error: unknown): string {
  if (error instanceof ApiError && error.code === 'UNAUTHENTICATED')
    return `That API token was not accepted (${error.message}). Check it and try again.`;
  if (error instanceof ApiError) return `Signing in failed: ${error.message}`;
  return 'Signing in failed: the service cannot be reached.';
}

/** Asks for an API token and checks it with one query before keeping it (in sessionStorage only). */
export function SignIn({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn: (token: string) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const token = String(new FormData(event.currentTarget as HTMLFormElement).get('token') ?? '').trim();
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      await checkToken(token);
      onSignedIn(token);
    } catch (e) {
      setError(explain(e));
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>openhands-runner</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          API token
          <input name="token" type="password" autoComplete="off" required />
        </label>
        {(error ?? notice) && (
          <p class="error" role="alert">
            {error ?? notice}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted">
          The token stays in this tab (session storage) and is sent only to this service. Create one with{' '}
          <code>npm run tokens -- create</code>.
        </p>
      </form>
    </main>
  );
}
