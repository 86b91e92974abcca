import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, ApiError, clickKey } from './api.js';
import { describeViolation, useVerdict, VerdictLine } from './compliance.js';
import { age, describeError, money, percent, usePolling, when } from './util.js';

/** How often the queue is read again: a draft decided on another screen leaves this one within this. */
export const QUEUE_POLL_MS = 1000;

interface Approval {
  response_queue_id: string;
  conversation_id: string;
  tenant_id: string;
  conversation_state: string;
  conversation: { debtor_messages: Array<{ text: string; at: string }>; last_sent_text: string | null; language: string | null };
  draft: { text: string; confidence: number; intents: string[]; plan: any; review_reason: string | null; drafter: string };
  queued_at: string;
}

export function Approvals() {
  const { data, error, refresh, setData } = usePolling(() => api<{ items: Approval[]; next_cursor: string | null }>('GET', '/v1/approvals?status=pending&limit=50'), QUEUE_POLL_MS);
  const items = data?.items ?? [];
  const remove = (id: string) => {
    setData(data && { ...data, items: data.items.filter((item) => item.response_queue_id !== id) });
    refresh();
  };
  return html`
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals <span class="count" aria-label="${items.length}${data?.next_cursor ? ' or more' : ''} pending">${data ? `${items.length}${data.next_cursor ? '+' : ''}` : '…'}</span></h1>
      <p class="lede">Drafts waiting for a manager, oldest first. Updated live.</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${data && items.length === 0 && html`<p class="empty">Nothing waits for approval.</p>`}
      ${data?.next_cursor && html`<p class="hint">Showing the oldest 50; more wait behind them.</p>`}
      <ol class="queue">
        ${items.map((item) => html`<li key=${item.response_queue_id}><${ApprovalCard} item=${item} onDone=${() => remove(item.response_queue_id)} /></li>`)}
      </ol>
    </section>
  `;
}

function PlanOffer({ plan }: { plan: any }) {
  const offered = plan?.plan ?? plan?.counterProposal ?? plan?.counter_proposal;
  if (!plan) return null;
  return html`
    <div class="plan">
      <h4>Plan in this draft: ${plan.kind ?? 'offer'}</h4>
      ${offered?.schedule &&
      html`<table>
        <caption>${offered.count} ${offered.frequency} payments, ${money(offered.totalCents)} in all</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Due</th><th scope="col">Amount</th></tr></thead>
        <tbody>${offered.schedule.map((s: any, i: number) => html`<tr><td>${i + 1}</td><td>${s.dueOn}</td><td>${money(s.amountCents)}</td></tr>`)}</tbody>
      </table>`}
    </div>
  `;
}

function ApprovalCard({ item, onDone }: { item: Approval; onDone: () => void }) {
  const [text, setText] = useState(item.draft.text);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const { verdict, error } = useVerdict(item.conversation_id, text);
  const edited = text !== item.draft.text;
  const base = `approval-${item.response_queue_id}`;

  async function decide(action: 'approve' | 'modify' | 'reject' | 'escalate') {
    setBusy(true);
    setMessage(null);
    try {
      const body: Record<string, unknown> = { response_queue_id: item.response_queue_id, action };
      if (action === 'modify') body.modified_text = text;
      if ((action === 'reject' || action === 'escalate') && reason.trim()) body.escalation_reason = reason.trim();
      await api('POST', '/orchestrate/approve-response', body, { 'idempotency-key': clickKey(action) });
      onDone();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'compliance_violation') {
        setMessage(`Not sent. Refused by ${(e.details?.violations ?? []).map(describeViolation).join('; ')}`);
      } else if (e instanceof ApiError && (e.code === 'already_decided' || e.code === 'opted_out')) {
        setMessage(`Already decided elsewhere (${e.code}).`);
        onDone();
      } else {
        setMessage(describeError(e));
      }
    } finally {
      setBusy(false);
    }
  }

  return html`
    <article class="card approval" aria-labelledby="${base}-title" data-approval=${item.response_queue_id}>
      <header>
        <h2 id="${base}-title"><a href="#/conversations/${encodeURIComponent(item.conversation_id)}">${item.conversation_id}</a></h2>
        <span class="meta">${item.tenant_id} · waiting ${age(item.queued_at)} · queued ${when(item.queued_at)}</span>
      </header>
      <dl class="facts">
        <div><dt>Why it waits</dt><dd>${item.draft.review_reason ?? 'confidence below the auto-send threshold'}</dd></div>
        <div><dt>Confidence</dt><dd>${percent(item.draft.confidence)}</dd></div>
        <div><dt>Intents</dt><dd>${item.draft.intents.join(', ') || '—'}</dd></div>
        <div><dt>Drafter</dt><dd>${item.draft.drafter}</dd></div>
      </dl>
      <div class="thread">
        <h3>The debtor wrote</h3>
        ${item.conversation.debtor_messages.length === 0 && html`<p class="empty">No new message.</p>`}
        ${item.conversation.debtor_messages.map((m) => html`<blockquote class="inbound"><p>${m.text}</p><footer>${when(m.at)}</footer></blockquote>`)}
        ${item.conversation.last_sent_text && html`<p class="last-sent"><span>Our last text:</span> ${item.conversation.last_sent_text}</p>`}
      </div>
      <${PlanOffer} plan=${item.draft.plan} />
      <label for="${base}-text">Reply to send${edited ? ' (edited)' : ''}</label>
      <textarea id="${base}-text" rows="5" value=${text} aria-describedby="${base}-verdict"
        onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}></textarea>
      <${VerdictLine} verdict=${verdict} error=${error} id="${base}-verdict" />
      <label for="${base}-reason">Note (for reject or escalate, optional)</label>
      <input id="${base}-reason" type="text" value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} />
      <div class="actions">
        <button type="button" onClick=${() => decide(edited ? 'modify' : 'approve')} disabled=${busy}>${edited ? 'Send edited text' : 'Approve'}</button>
        ${edited && html`<button type="button" class="secondary" onClick=${() => setText(item.draft.text)} disabled=${busy}>Undo edits</button>`}
        <button type="button" class="secondary" onClick=${() => decide('reject')} disabled=${busy}>Reject</button>
        <button type="button" class="danger" onClick=${() => decide('escalate')} disabled=${busy}>Escalate</button>
      </div>
      ${message && html`<p class="error" role="alert">${message}</p>`}
    </article>
  `;
}
