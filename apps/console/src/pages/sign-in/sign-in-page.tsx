import { useState } from 'preact/hooks';
import { ApiError, gql, session } from '../../api/client';
import type { Me } from '../../api/generated/graphql';
import { ME } from '../../api/queries';

/** An API token (from `tokens create` or an admin) signs in; it is kept for this tab's session only. */
export function SignInPage({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { me } = await gql<{ me: Me | null }>(ME, {}, token.trim());
      if (!me) throw new ApiError('enter an API token', 'UNAUTHENTICATED');
      session.set(token.trim());
      onSignedIn(me);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">statusview console</h1>
        <p class="muted">Sign in with an API token. It stays in this tab only and is forgotten when the tab closes.</p>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} required />
        {error ? (
          <p class="note error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
