import type { DbOrTrx } from './database.js';

/**
 * One conversation's history as managers read it (GET /v1/conversations/{id}/timeline): every record it
 * left, from each table that keeps one, merged oldest first. Personal data (texts) included: managers only.
 */

export type TimelineEntry =
  | { kind: 'message'; at: Date; direction: 'inbound' | 'outbound'; text: string; status?: string; sms_id?: string | null }
  | { kind: 'draft'; at: Date; draft_id: string; text: string; confidence: number; intents: string[]; drafter: string; review_reason: string | null; review_status: string | null }
  | { kind: 'decision'; at: Date; approval_id: string; decision: string; reviewer: string | null; final_text: string | null; reason: string | null }
  | { kind: 'transition'; at: Date; seq: number; from_state: string | null; to_state: string; event_type: string; actor: string }
  | { kind: 'payment'; at: Date; amount_cents: number | null; paid_in_full: boolean; actor: string }
  | { kind: 'compliance'; at: Date; rule: string; decision: string; detail: string };

/** Each table's rows are capped, newest kept, so a years-long thread stays one answer. */
const PER_KIND = 500;

export async function conversationTimeline(db: DbOrTrx, conversationId: string): Promise<TimelineEntry[]> {
  const [messages, outbound, drafts, decisions, transitions, compliance] = await Promise.all([
    // The debtor's texts; ours are the sends we handed to the SMS Agent (one row per text, whatever its retries).
    db
      .selectFrom('messages')
      .select(['direction', 'body', 'at', 'id'])
      .where('conversation_id', '=', conversationId)
      .where('direction', '=', 'inbound')
      .orderBy('id', 'desc')
      .limit(PER_KIND)
      .execute(),
    db
      .selectFrom('outbound_messages')
      .select(['body', 'status', 'sms_agent_id', 'first_attempt_at'])
      .where('conversation_id', '=', conversationId)
      .where('status', '<>', 'held') // held back by the gate: it never left (its decision is among the compliance rows)
      .orderBy('first_attempt_at', 'desc')
      .limit(PER_KIND)
      .execute(),
    db
      .selectFrom('drafts')
      .select(['id', 'text', 'confidence', 'intents', 'drafter', 'review_reason', 'review_status', 'created_at'])
      .where('conversation_id', '=', conversationId)
      .orderBy('created_at', 'desc')
      .limit(PER_KIND)
      .execute(),
    db
      .selectFrom('approval_decisions')
      .select(['approval_id', 'decision', 'reviewer', 'final_text', 'reason', 'decided_at', 'id'])
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .limit(PER_KIND)
      .execute(),
    db
      .selectFrom('transitions')
      .select(['seq', 'from_state', 'to_state', 'event_type', 'actor', 'at', 'event_summary'])
      .where('conversation_id', '=', conversationId)
      .orderBy('seq', 'desc')
      .limit(PER_KIND)
      .execute(),
    db.selectFrom('compliance_decisions').select(['rule', 'decision', 'detail', 'at', 'id']).where('conversation_id', '=', conversationId).orderBy('id', 'desc').limit(PER_KIND).execute(),
  ]);
  // Each list was read newest first (to keep the newest); oldest first from here.
  for (const rows of [messages, outbound, drafts, decisions, transitions, compliance]) rows.reverse();
  const entries: TimelineEntry[] = [
    ...messages.map((m) => ({ kind: 'message' as const, at: m.at, direction: m.direction, text: m.body })),
    ...outbound.map((m) => ({ kind: 'message' as const, at: m.first_attempt_at, direction: 'outbound' as const, text: m.body, status: m.status, sms_id: m.sms_agent_id })),
    ...drafts.map((d) => ({
      kind: 'draft' as const,
      at: d.created_at,
      draft_id: d.id,
      text: d.text,
      confidence: d.confidence,
      intents: d.intents,
      drafter: d.drafter,
      review_reason: d.review_reason,
      review_status: d.review_status,
    })),
    ...decisions.map((d) => ({ kind: 'decision' as const, at: d.decided_at, approval_id: d.approval_id, decision: d.decision, reviewer: d.reviewer, final_text: d.final_text, reason: d.reason })),
    ...transitions.map((t) =>
      t.event_type === 'payment.received'
        ? { kind: 'payment' as const, at: t.at, amount_cents: numberOrNull(t.event_summary?.amountCents), paid_in_full: t.event_summary?.paidInFull === true, actor: t.actor }
        : { kind: 'transition' as const, at: t.at, seq: t.seq, from_state: t.from_state, to_state: t.to_state, event_type: t.event_type, actor: t.actor },
    ),
    ...compliance.map((c) => ({ kind: 'compliance' as const, at: c.at, rule: c.rule, decision: c.decision, detail: c.detail })),
  ];
  // Array#sort is stable: within one instant, the order above (a message before the draft it caused, before the transition).
  return entries.sort((a, b) => a.at.getTime() - b.at.getTime());
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}
