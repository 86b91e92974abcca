import { createHash } from 'node:crypto';
import type { AnyEventObject } from 'xstate';
import type { ConversationContext } from '../../machines/conversation/conversation.types.js';

/**
 * The audit hash chain, in one place: the writer (AuditWriter in apply-event.ts) and the verifier
 * (scripts/audit-verify.ts) both build a row's hash with `transitionHash`.
 *
 * Each `transitions` row carries
 * - `event_summary`: a redacted summary of its event (type, ids, intents, amounts, states; never a phone
 *   number, a message text or a person's free-text reason), and
 * - `words_digest`: sha-256 of what the event carried in words (the inbound text, a draft's text, a
 *   manager's draft and final text, the text a sender result sent), null for an event without words,
 * and both are inside the chained hash. Rows written before they existed (both null) hash as before.
 */

/** The fields of a transition row the hash covers. */
export interface ChainedRow {
  conversation_id: string;
  seq: number;
  from_state: string | null;
  to_state: string;
  event_type: string;
  event_id: string;
  actor: string;
  /** ISO 8601 with milliseconds, UTC (`Date#toISOString`). */
  at: string;
  prev_hash: string | null;
  event_summary: Record<string, unknown> | null;
  words_digest: string | null;
}

export function auditHash(previous: string | null, fields: unknown[]): string {
  return createHash('sha256')
    .update(previous ?? '')
    .update('\n')
    .update(JSON.stringify(fields))
    .digest('hex');
}

export function transitionHash(row: ChainedRow): string {
  const fields: unknown[] = [row.conversation_id, row.seq, row.from_state, row.to_state, row.event_type, row.event_id, row.actor, row.at];
  // A row from before event summaries (both null) hashes as it was written; nulling them later breaks the hash.
  if (row.event_summary !== null || row.words_digest !== null) fields.push(canonical(row.event_summary), row.words_digest);
  return auditHash(row.prev_hash, fields);
}

/** jsonb does not keep key order: the hash covers the summary with its keys sorted, at every depth. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The digest of a list of texts (null where a text is absent); null when there are none. */
export function digestWords(words: Array<string | null> | null): string | null {
  return words === null ? null : sha256(JSON.stringify(words));
}

type Ctx = Pick<ConversationContext, 'draft' | 'outgoing'> | null | undefined;

/**
 * The words an event carried, in a fixed order per event type. `before` is the context the event met:
 * a manager's approval without a text sends the draft's, and a sender's result names only the SMS id.
 */
export function eventWords(event: AnyEventObject, before: Ctx): Array<string | null> | null {
  const e = event as Record<string, any>;
  switch (event.type) {
    case 'sms.received':
      return [String(e.text ?? '')];
    case 'xstate.done.actor.drafter':
      return [String(e.output?.text ?? '')];
    case 'review.approved':
    case 'review.modified':
      return [before?.draft?.text ?? null, typeof e.text === 'string' ? e.text : (before?.draft?.text ?? null)];
    case 'review.rejected':
    case 'review.escalated':
      return [before?.draft?.text ?? null, null];
    case 'xstate.done.actor.sender':
      return e.output?.smsId ? [before?.outgoing?.text ?? null] : null;
    default:
      return null;
  }
}

const ID_FIELDS = ['messageId', 'approvalId', 'managerId', 'by', 'escalationType', 'severity', 'amountCents', 'paidInFull', 'at'] as const;

/**
 * A redacted summary of an event, safe to show reviewers and the inspector: what kind of event, which ids,
 * intents, amounts and decisions; free text only as a flag (`hasText`, `hasReason`). Never a number.
 */
export function eventSummary(event: AnyEventObject): Record<string, unknown> {
  const e = event as Record<string, any>;
  const summary: Record<string, unknown> = { type: event.type };
  for (const field of ID_FIELDS) if (e[field] !== undefined) summary[field] = e[field];
  if (typeof e.text === 'string') summary.hasText = true;
  if (typeof e.reason === 'string' && e.reason.length > 0) summary.hasReason = true;
  if (event.type === 'xstate.done.actor.drafter' && e.output) {
    const d = e.output;
    summary.draft = {
      id: d.id,
      intents: d.intents,
      confidence: d.confidence,
      drafter: d.drafter,
      model: d.model ?? null,
      language: d.language,
      reviewReason: d.reviewReason ?? null,
      negotiation: d.negotiation ? negotiationSummary(d.negotiation) : null,
    };
  } else if (event.type === 'xstate.done.actor.sender' && e.output) {
    summary.send = e.output.smsId ? { smsId: e.output.smsId } : { deferredUntil: e.output.deferredUntil, reason: e.output.reason };
  } else if (event.type.startsWith('xstate.error.actor.')) {
    summary.error = true; // the error's message may quote a text: not kept here
  }
  return summary;
}

function negotiationSummary(n: Record<string, any>) {
  const plan = n.plan as Record<string, any> | undefined;
  return {
    kind: n.kind,
    ...(plan
      ? {
          plan: {
            frequency: plan.frequency,
            instalmentCents: plan.instalmentCents,
            count: plan.count,
            downPaymentCents: plan.downPaymentCents,
            totalCents: plan.totalCents,
          },
        }
      : {}),
    ...(n.verdict ? { verdict: n.verdict } : {}),
  };
}
