import { html } from 'htm/preact';
import { api, ApiError } from './api.js';
import { age, usePolling, when } from './util.js';

/**
 * What people own: open escalations, and whatever else the API lists as tasks (identity verifications
 * when the service lists them at /v1/tasks). Rendered from the fields each item carries, so a new kind of
 * task shows without a change here.
 */
const SOURCES = [
  { path: '/v1/escalations?limit=200', title: 'Escalations' },
  { path: '/v1/tasks?limit=200', title: 'Other tasks' },
];

const HIDDEN = new Set(['conversation_id', 'tenant_id']);

async function loadAll() {
  return Promise.all(
    SOURCES.map(async (source) => {
      try {
        const answer = await api<{ items: Array<Record<string, unknown>> }>('GET', source.path);
        return { ...source, items: answer.items };
      } catch (e) {
        // A service without that list answers 404: nothing to show there.
        if (e instanceof ApiError && e.status === 404) return { ...source, items: null };
        throw e;
      }
    }),
  );
}

const openedAt = (item: Record<string, unknown>) => (item.opened_at ?? item.created_at ?? item.queued_at) as string | undefined;
const ownerOf = (item: Record<string, unknown>) => (item.owner ?? item.assignee ?? item.assigned_to ?? null) as string | null;

export function Tasks() {
  const { data, error } = usePolling(loadAll, 3000);
  return html`
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <p class="lede">Cases people own, oldest first. Updated live.</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${(data ?? [])
        .filter((source) => source.items !== null)
        .map((source) => {
          const items = source.items!;
          const columns = [...new Set(items.flatMap((item) => Object.keys(item)))].filter((key) => !HIDDEN.has(key) && !/(_at|_id)$/.test(key));
          return html`
            <h2>${source.title} <span class="count">${items.length}</span></h2>
            ${items.length === 0
              ? html`<p class="empty">None open.</p>`
              : html`<table class="list">
                  <caption class="visually-hidden">${source.title}</caption>
                  <thead><tr><th scope="col">Conversation</th><th scope="col">Tenant</th><th scope="col">Owner</th><th scope="col">Age</th>${columns.map((c) => html`<th scope="col">${c.replace(/_/g, ' ')}</th>`)}</tr></thead>
                  <tbody>
                    ${items.map(
                      (item) => html`<tr>
                        <td><a href="#/conversations/${encodeURIComponent(String(item.conversation_id))}">${String(item.conversation_id)}</a></td>
                        <td>${String(item.tenant_id ?? '—')}</td>
                        <td>${ownerOf(item) ?? 'unassigned'}</td>
                        <td title=${when(openedAt(item))}>${age(openedAt(item))}</td>
                        ${columns.map((c) => html`<td>${item[c] === null || item[c] === undefined ? '—' : typeof item[c] === 'object' ? JSON.stringify(item[c]) : String(item[c])}</td>`)}
                      </tr>`,
                    )}
                  </tbody>
                </table>`}
          `;
        })}
    </section>
  `;
}
