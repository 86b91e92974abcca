import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { age, percent, usePolling } from './util.js';

interface ConversationRow {
  conversation_id: string;
  tenant_id: string;
  phone_masked: string;
  state: string;
  top_state: string;
  draft_confidence: number | null;
  escalation_reason: string | null;
  updated_at: string;
}

interface Filters {
  state: string;
  q: string;
  updated_since: string;
  escalated: boolean;
  awaiting_approval: boolean;
  in_plan: boolean;
}

const NO_FILTERS: Filters = { state: '', q: '', updated_since: '', escalated: false, awaiting_approval: false, in_plan: false };

/** The list refreshes often; the counts, which cost a pass over every matching conversation, seldom. */
const LIST_POLL_MS = 3000;
const COUNTS_POLL_MS = 15_000;

function queryOf(filters: Filters, cursor: string | null, counts = false) {
  const params = new URLSearchParams(counts ? { limit: '1', counts: 'true' } : { limit: '50' });
  if (filters.state) params.set('state', filters.state);
  if (filters.q.trim()) params.set('q', filters.q.trim());
  if (filters.updated_since) params.set('updated_since', new Date(filters.updated_since).toISOString());
  for (const flag of ['escalated', 'awaiting_approval', 'in_plan'] as const) if (filters[flag]) params.set(flag, 'true');
  if (cursor) params.set('cursor', cursor);
  return `/v1/conversations?${params}`;
}

export function Conversations() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1) ?? null;
  const { data, error } = usePolling(
    () => api<{ items: ConversationRow[]; next_cursor: string | null }>('GET', queryOf(filters, cursor)),
    LIST_POLL_MS,
    [JSON.stringify(filters), cursor],
  );
  const tally = usePolling(() => api<{ counts: Record<string, number> }>('GET', queryOf(filters, null, true)), COUNTS_POLL_MS, [JSON.stringify(filters)]);
  const set = (patch: Partial<Filters>) => {
    setFilters({ ...filters, ...patch });
    setCursors([]);
  };
  const counts = tally.data?.counts ?? {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const topCounts = new Map<string, number>();
  for (const [state, n] of Object.entries(counts)) topCounts.set(state.split('.')[0]!, (topCounts.get(state.split('.')[0]!) ?? 0) + n);
  const stateOptions = [...new Set([...topCounts.keys(), ...Object.keys(counts)])].sort();
  if (filters.state && !stateOptions.includes(filters.state)) stateOptions.push(filters.state);

  return html`
    <section aria-labelledby="conversations-title">
      <h1 id="conversations-title">Conversations</h1>
      <form class="filters" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Filters">
        <div class="field">
          <label for="filter-state">State</label>
          <select id="filter-state" value=${filters.state} onChange=${(e: Event) => set({ state: (e.target as HTMLSelectElement).value })}>
            <option value="">Any state (${total})</option>
            ${stateOptions.map((s) => html`<option value=${s}>${s} (${counts[s] ?? topCounts.get(s) ?? 0})</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="filter-q">Tenant id contains</label>
          <input id="filter-q" type="search" value=${filters.q} onInput=${(e: Event) => set({ q: (e.target as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for="filter-since">Updated since</label>
          <input id="filter-since" type="datetime-local" value=${filters.updated_since} onChange=${(e: Event) => set({ updated_since: (e.target as HTMLInputElement).value })} />
        </div>
        <fieldset class="flags">
          <legend>Only</legend>
          ${(
            [
              ['escalated', 'Escalated'],
              ['awaiting_approval', 'Waiting for approval'],
              ['in_plan', 'In a payment plan'],
            ] as const
          ).map(
            ([flag, label]) => html`<label class="check"><input type="checkbox" checked=${filters[flag]} onChange=${(e: Event) => set({ [flag]: (e.target as HTMLInputElement).checked })} /> ${label}</label>`,
          )}
        </fieldset>
        <button type="button" class="secondary" onClick=${() => set(NO_FILTERS)}>Clear filters</button>
      </form>
      <ul class="chips" aria-label="Conversations by state">
        ${[...topCounts.entries()].sort().map(
          ([state, n]) => html`<li><button type="button" class=${filters.state === state ? 'chip active' : 'chip'} aria-pressed=${filters.state === state}
            onClick=${() => set({ state: filters.state === state ? '' : state })}>${state} <span class="count">${n}</span></button></li>`,
        )}
      </ul>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table class="list">
        <caption class="visually-hidden">Conversations, most recently changed first</caption>
        <thead>
          <tr><th scope="col">Conversation</th><th scope="col">Tenant</th><th scope="col">Phone</th><th scope="col">State</th><th scope="col">Confidence</th><th scope="col">Changed</th></tr>
        </thead>
        <tbody>
          ${(data?.items ?? []).map(
            (row) => html`<tr data-state=${row.state}>
              <td><a href="#/conversations/${encodeURIComponent(row.conversation_id)}">${row.conversation_id}</a></td>
              <td>${row.tenant_id}</td>
              <td class="mono">${row.phone_masked}</td>
              <td><span class="state state-${row.top_state}">${row.state}</span>${row.escalation_reason ? html` <small>(${row.escalation_reason})</small>` : ''}</td>
              <td>${percent(row.draft_confidence)}</td>
              <td title=${row.updated_at}>${age(row.updated_at)} ago</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${data && data.items.length === 0 && html`<p class="empty">No conversation matches.</p>`}
      <nav class="pager" aria-label="Pages">
        <button type="button" class="secondary" disabled=${cursors.length === 0} onClick=${() => setCursors([])}>First page</button>
        <button type="button" class="secondary" disabled=${!data?.next_cursor} onClick=${() => data?.next_cursor && setCursors([...cursors, data.next_cursor])}>Next page</button>
      </nav>
    </section>
  `;
}
