import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentToken, onTokenChange, setToken, tokenClaims } from './api.js';
import { Approvals } from './approvals.js';
import { Conversation } from './conversation.js';
import { Conversations } from './conversations.js';
import { SignIn } from './signin.js';
import { Tasks } from './tasks.js';

/** The managers' console: a hash-routed page over the public API (docs/console.md). */
function useHash() {
  const [hash, setHash] = useState(location.hash || '#/approvals');
  useEffect(() => {
    const listener = () => setHash(location.hash || '#/approvals');
    addEventListener('hashchange', listener);
    return () => removeEventListener('hashchange', listener);
  }, []);
  return hash;
}

function useToken() {
  const [token, set] = useState(currentToken());
  useEffect(() => {
    const off = onTokenChange(() => set(currentToken()));
    return () => void off();
  }, []);
  return token;
}

const SCREENS = [
  { hash: '#/approvals', label: 'Approvals' },
  { hash: '#/conversations', label: 'Conversations' },
  { hash: '#/tasks', label: 'Tasks' },
];

function Screen({ hash }: { hash: string }) {
  const conversation = /^#\/conversations\/(.+)$/.exec(hash);
  if (conversation) return html`<${Conversation} id=${decodeURIComponent(conversation[1]!)} key=${conversation[1]} />`;
  if (hash.startsWith('#/conversations')) return html`<${Conversations} />`;
  if (hash.startsWith('#/tasks')) return html`<${Tasks} />`;
  return html`<${Approvals} />`;
}

function App() {
  const token = useToken();
  const hash = useHash();
  useEffect(() => {
    const screen = SCREENS.find((s) => hash.startsWith(s.hash));
    document.title = `${screen?.label ?? 'Conversation'} · Collections console`;
  }, [hash]);
  if (!token) return html`<${SignIn} />`;
  const who = tokenClaims(token).sub ?? 'manager';
  return html`
    <a class="skip" href="#main" onClick=${(e: Event) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="top">
      <span class="brand">Collections console</span>
      <nav aria-label="Screens">
        <ul>
          ${SCREENS.map((s) => html`<li><a href=${s.hash} aria-current=${hash.startsWith(s.hash) ? 'page' : undefined}>${s.label}</a></li>`)}
        </ul>
      </nav>
      <span class="who">Signed in as <strong>${who}</strong></span>
      <button type="button" class="secondary" onClick=${() => setToken(null)}>Sign out</button>
    </header>
    <main id="main" tabindex="-1"><${Screen} hash=${hash} /></main>
  `;
}

const root = document.getElementById('app')!;
// The "loading" placeholder goes: the app renders into an empty container.
root.replaceChildren();
render(html`<${App} />`, root);
