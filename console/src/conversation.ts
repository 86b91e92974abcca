import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, clickKey } from './api.js';
import { MachineDiagram, type MachineGraph } from './diagram.js';
import { describeError, money, percent, usePolling, when } from './util.js';

/** Events a manager may send from the console, in the words of the buttons. */
const MANAGER_EVENTS: Record<string, string> = {
  'staff.escalate': 'Escalate to a person',
  'staff.close': 'Close the conversation',
  'identity.verified': 'Mark identity verified',
  retry: 'Retry',
  'staff.resume': 'Resume automation',
};

let machineGraph: Promise<MachineGraph> | null = null;
const loadGraph = () => (machineGraph ??= api<{ graph: MachineGraph }>('GET', '/v1/machine').then((m) => m.graph));

export function Conversation({ id }: { id: string }) {
  const path = `/v1/conversations/${encodeURIComponent(id)}`;
  const { data, error, refresh } = usePolling(
    async () => {
      const [conversation, timeline, graph] = await Promise.all([api('GET', path), api('GET', `${path}/timeline`), loadGraph()]);
      return { conversation, timeline, graph };
    },
    2000,
    [id],
  );
  if (!data) return html`<section><h1>${id}</h1>${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Loading…</p>`}</section>`;
  const { conversation: c, timeline, graph } = data;
  return html`
    <section aria-labelledby="conversation-title" class="conversation">
      <h1 id="conversation-title">${c.conversation_id}</h1>
      <p class="lede">Tenant ${c.tenant_id} · state <span class="state state-${c.top_state}" data-testid="current-state">${c.state}</span> · changed ${when(c.updated_at)}</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="columns">
        <div>
          <${PhoneNumber} id=${id} />
          <${Actions} id=${id} allowed=${c.allowed_events} onDone=${refresh} />
          <${ComplianceState} compliance=${c.compliance} />
          <${Plan} plan=${c.plan} offered=${c.offered_plan} />
        </div>
        <div>
          <h2>Where it is on the machine</h2>
          <${MachineDiagram} graph=${graph} current=${c.state} />
        </div>
      </div>
      <${Timeline} entries=${timeline.entries} />
    </section>
  `;
}

/** Masked until asked; the reveal is an API call the service records (who, when). */
function PhoneNumber({ id }: { id: string }) {
  const [revealed, setRevealed] = useState<{ phone_number: string; revealed_at: string; revealed_by: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function reveal() {
    try {
      setRevealed(await api('POST', `/v1/conversations/${encodeURIComponent(id)}/phone-reveal`));
    } catch (e) {
      setError(describeError(e));
    }
  }
  return html`
    <div class="panel">
      <h2>Debtor's number</h2>
      ${revealed
        ? html`<p><span class="mono" data-testid="phone">${revealed.phone_number}</span><br /><small>Revealed to ${revealed.revealed_by} at ${when(revealed.revealed_at)}; recorded.</small></p>`
        : html`<p><span class="mono" data-testid="phone">•••• masked</span> <button type="button" class="secondary" onClick=${reveal}>Reveal number (recorded)</button></p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </div>
  `;
}

function Actions({ id, allowed, onDone }: { id: string; allowed: string[]; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const events = allowed.filter((event) => event in MANAGER_EVENTS);
  async function send(type: string) {
    setBusy(true);
    setMessage(null);
    try {
      const body: Record<string, unknown> = { type };
      if ((type === 'staff.escalate' || type === 'staff.close') && reason.trim()) body.reason = reason.trim();
      const answer = await api<{ state: string }>('POST', `/v1/conversations/${encodeURIComponent(id)}/events`, body, { 'idempotency-key': clickKey(type) });
      setMessage(`Done: now ${answer.state}.`);
      onDone();
    } catch (e) {
      setMessage(describeError(e));
    } finally {
      setBusy(false);
    }
  }
  return html`
    <div class="panel">
      <h2>What you can do now</h2>
      ${events.length === 0
        ? html`<p class="empty">No manager event is taken in this state.</p>`
        : html`
            <label for="event-reason">Reason (for escalate or close, optional)</label>
            <input id="event-reason" type="text" value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} />
            <div class="actions">${events.map((event) => html`<button type="button" class="secondary" disabled=${busy} onClick=${() => send(event)}>${MANAGER_EVENTS[event]}</button>`)}</div>
          `}
      ${message && html`<p role="status">${message}</p>`}
    </div>
  `;
}

function ComplianceState({ compliance }: { compliance: any }) {
  if (!compliance) return null;
  const caps = compliance.caps_used ?? {};
  return html`
    <div class="panel">
      <h2>Compliance</h2>
      <dl class="facts">
        <div><dt>Opted out</dt><dd>${compliance.opted_out ? 'yes: nothing is sent' : 'no'}</dd></div>
        <div><dt>Identity verified</dt><dd>${compliance.identity_verified ? 'yes' : 'no'}</dd></div>
        <div><dt>Send deferred until</dt><dd>${when(compliance.send_deferred_until)}</dd></div>
        ${Object.entries(caps).map(([name, value]) => html`<div><dt>${name.replace(/_/g, ' ')}</dt><dd>${String(value)}</dd></div>`)}
        <div><dt>Last gate decision</dt><dd>${compliance.last_decision ? `${compliance.last_decision.rule}: ${compliance.last_decision.decision} (${compliance.last_decision.detail})` : '—'}</dd></div>
      </dl>
    </div>
  `;
}

function Plan({ plan, offered }: { plan: any; offered: any }) {
  const shown = plan ?? offered;
  if (!shown) return html`<div class="panel"><h2>Payment plan</h2><p class="empty">No plan.</p></div>`;
  return html`
    <div class="panel">
      <h2>${plan ? `Payment plan (${plan.status})` : 'Plan offered, waiting for the debtor'}</h2>
      <p>${shown.count} ${shown.frequency} payments of ${money(shown.instalment_cents)}; ${money(shown.total_cents)} in all${plan ? `, ${money(plan.paid_cents)} paid, ${plan.missed} missed` : ''}.</p>
      <table>
        <caption class="visually-hidden">Instalments</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Due</th><th scope="col">Amount</th><th scope="col">Paid</th><th scope="col">Status</th></tr></thead>
        <tbody>
          ${shown.schedule.map((s: any, i: number) => html`<tr><td>${i + 1}</td><td>${s.due_on}</td><td>${money(s.amount_cents)}</td><td>${money(s.paid_cents)}</td><td>${s.status ?? 'offered'}</td></tr>`)}
        </tbody>
      </table>
    </div>
  `;
}

function describeEntry(entry: any) {
  switch (entry.kind) {
    case 'message':
      return html`<span class="who">${entry.direction === 'inbound' ? 'Debtor' : entry.status === 'accepted' ? 'We sent' : 'Sending'}</span><p class="text">${entry.text}</p>`;
    case 'draft':
      return html`<span class="who">Draft (${entry.drafter}, ${percent(entry.confidence)}${entry.intents.length ? `, ${entry.intents.join(', ')}` : ''})</span>
        <p class="text">${entry.text}</p><small>${entry.review_reason ? `waits because: ${entry.review_reason}` : ''} ${entry.review_status ? `· ${entry.review_status}` : ''}</small>`;
    case 'decision':
      return html`<span class="who">Decision: ${entry.decision} by ${entry.reviewer ?? 'the service'}</span>${entry.final_text && html`<p class="text">${entry.final_text}</p>`}`;
    case 'transition':
      return html`<span class="who">${entry.from_state ?? '—'} → ${entry.to_state}</span> <code>${entry.event_type}</code> <small>by ${entry.actor}</small>`;
    case 'payment':
      return html`<span class="who">Payment ${money(entry.amount_cents)}${entry.paid_in_full ? ' (in full)' : ''}</span>`;
    case 'compliance':
      return html`<span class="who">Compliance gate: ${entry.rule} ${entry.decision}</span> <small>${entry.detail}</small>`;
    default:
      return html`<code>${JSON.stringify(entry)}</code>`;
  }
}

function Timeline({ entries }: { entries: any[] }) {
  return html`
    <section aria-labelledby="timeline-title" class="timeline">
      <h2 id="timeline-title">Timeline</h2>
      <ol>
        ${entries.map((entry) => html`<li class="entry ${entry.kind} ${entry.direction ?? ''}" data-kind=${entry.kind}><time datetime=${entry.at}>${when(entry.at)}</time><div>${describeEntry(entry)}</div></li>`)}
      </ol>
    </section>
  `;
}
