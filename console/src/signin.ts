import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, ApiError, setToken } from './api.js';
import { describeError } from './util.js';

/**
 * Paste a token (`npm run token -- manager <name>`, or your identity provider's), or, on a development
 * deployment only, sign in as a development manager: the service mints that token only when it runs with
 * the public development secret outside production (a 404 anywhere else).
 */
export function SignIn() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function signInWith(token: string) {
    // The token is tried on a manager's route before it is kept.
    await api('GET', '/v1/approvals?limit=1', undefined, {}, token);
    setToken(token);
  }

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signInWith(value.trim().replace(/^Bearer\s+/i, ''));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'That token is not valid here (expired, or signed with another secret).' : describeError(e));
    } finally {
      setBusy(false);
    }
  }

  async function devSignIn() {
    setBusy(true);
    setError(null);
    try {
      const { token } = await api<{ token: string }>('POST', '/console/dev-token', undefined, {}, null);
      await signInWith(token);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? 'Development sign-in is off: this service does not run with the development secret.' : describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return html`
    <main class="signin" id="main">
      <h1>Collections console</h1>
      <p>Sign in with a manager's token. The console uses the public API with it, and sees what the token may see.</p>
      <form onSubmit=${submit}>
        <label for="token">Manager token (JWT)</label>
        <textarea id="token" name="token" rows="4" required value=${value} onInput=${(e: Event) => setValue((e.target as HTMLTextAreaElement).value)}
          placeholder="eyJhbGciOi…" autocomplete="off" spellcheck=${false}></textarea>
        <p class="hint">Get one with <code>npm run --silent token -- manager your-name</code>.</p>
        <button type="submit" disabled=${busy || value.trim() === ''}>Sign in</button>
      </form>
      <div class="dev">
        <button type="button" class="secondary" onClick=${devSignIn} disabled=${busy}>Sign in as a development manager</button>
        <p class="hint">Development only: works when the service runs with the development secret, outside production.</p>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </main>
  `;
}
