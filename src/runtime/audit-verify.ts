import { listAuditHeads } from '../db/conversations.repository.js';
import type { DbOrTrx } from '../db/database.js';
import { digestWords, eventWords, transitionHash, type ChainedRow } from './audit-chain.js';

/**
 * Recomputes audit hash chains (`npm run audit:verify`, docs/audit.md). For each conversation, in `seq`
 * order: the row links to the previous one, its hash recomputes, and the words it vouches for still read
 * the same (the inbound `messages` row of an `sms.received`, the `drafts` row of a drafter's result, the
 * `outbound_messages` row of a sender's result, the `approval_decisions` row of a manager's decision); the
 * head stored on the conversation is the last row. Names the first break of each conversation.
 */

export interface ChainBreak {
  conversationId: string;
  seq: number;
  /** What differs, in words a reviewer can act on. */
  problem: string;
}

export interface VerifyReport {
  conversations: number;
  rows: number;
  breaks: ChainBreak[];
}

export async function verifyChains(db: DbOrTrx, conversationIds: string[] = []): Promise<VerifyReport> {
  const conversations = await listAuditHeads(db, conversationIds);
  const report: VerifyReport = { conversations: conversations.length, rows: 0, breaks: [] };
  for (const id of conversationIds) {
    if (!conversations.some((c) => c.id === id)) report.breaks.push({ conversationId: id, seq: 0, problem: 'no such conversation' });
  }
  for (const conversation of conversations) {
    const found = await verifyOne(db, conversation);
    report.rows += found.rows;
    if (found.break) report.breaks.push(found.break);
  }
  return report;
}

async function verifyOne(
  db: DbOrTrx,
  conversation: { id: string; audit_seq: number; audit_hash: string | null },
): Promise<{ rows: number; break: ChainBreak | null }> {
  const rows = await db.selectFrom('transitions').selectAll().where('conversation_id', '=', conversation.id).orderBy('seq').execute();
  const inbound = new Map(
    (await db.selectFrom('messages').select(['event_id', 'body']).where('conversation_id', '=', conversation.id).where('direction', '=', 'inbound').execute()).map(
      (m) => [m.event_id, m.body],
    ),
  );
  const drafts = new Map(
    (await db.selectFrom('drafts').select(['id', 'text']).where('conversation_id', '=', conversation.id).execute()).map((d) => [d.id, d.text]),
  );
  const sent = new Map(
    (await db.selectFrom('outbound_messages').select(['sms_agent_id', 'body']).where('conversation_id', '=', conversation.id).where('sms_agent_id', 'is not', null).execute()).map(
      (m) => [m.sms_agent_id!, m.body],
    ),
  );
  const decisions = new Map<string, { original_text: string; final_text: string | null }>();
  for (const d of await db.selectFrom('approval_decisions').select(['approval_id', 'decision', 'original_text', 'final_text']).where('conversation_id', '=', conversation.id).execute()) {
    decisions.set(`${d.approval_id}:${d.decision}`, d);
  }
  const broken = (seq: number, problem: string) => ({ rows: rows.length, break: { conversationId: conversation.id, seq, problem } });

  let previous: string | null = null;
  let expectedSeq = 1;
  for (const row of rows) {
    if (row.seq !== expectedSeq) return broken(row.seq, `seq ${row.seq} follows ${expectedSeq - 1} (a row is missing)`);
    if (row.prev_hash !== previous) return broken(row.seq, `prev_hash ${short(row.prev_hash)} is not the previous row's hash ${short(previous)}`);
    const chained: ChainedRow = {
      conversation_id: row.conversation_id,
      seq: row.seq,
      from_state: row.from_state,
      to_state: row.to_state,
      event_type: row.event_type,
      event_id: row.event_id,
      actor: row.actor,
      at: new Date(row.at).toISOString(),
      prev_hash: row.prev_hash,
      event_summary: (row.event_summary as Record<string, unknown> | null) ?? null,
      words_digest: row.words_digest,
    };
    const hash = transitionHash(chained);
    if (hash !== row.hash) {
      return broken(row.seq, `hash does not recompute (stored ${short(row.hash)}, computed ${short(hash)}): a field of this row (${row.event_type} ${row.from_state ?? '∅'} → ${row.to_state}, actor ${row.actor}) was changed`);
    }
    const words = wordsProblem(row, { inbound, drafts, sent, decisions });
    if (words) return broken(row.seq, words);
    previous = row.hash;
    expectedSeq += 1;
  }
  if (conversation.audit_seq !== rows.length || conversation.audit_hash !== previous) {
    return broken(rows.length, `the conversation's chain head (seq ${conversation.audit_seq}, ${short(conversation.audit_hash)}) is not its last row (seq ${rows.length}, ${short(previous)})`);
  }
  return { rows: rows.length, break: null };
}

/** The words a row vouches for, checked against the tables that hold them (rows with a digest only). */
function wordsProblem(
  row: { event_type: string; event_id: string; words_digest: string | null; event_summary: unknown },
  tables: {
    inbound: Map<string, string>;
    drafts: Map<string, string>;
    sent: Map<string, string>;
    decisions: Map<string, { original_text: string; final_text: string | null }>;
  },
): string | null {
  const { inbound, drafts, sent, decisions } = tables;
  if (row.words_digest === null) return null;
  if (row.event_type === 'sms.received') {
    const body = inbound.get(row.event_id);
    if (body === undefined) return `the inbound message ${row.event_id} is missing from messages`;
    if (digestWords(eventWords({ type: 'sms.received', text: body }, null)) !== row.words_digest) {
      return `messages.body of inbound ${row.event_id} is not the text this row vouches for`;
    }
  }
  if (row.event_type === 'xstate.done.actor.drafter') {
    const id = (row.event_summary as { draft?: { id?: string } } | null)?.draft?.id;
    const text = id === undefined ? undefined : drafts.get(id);
    // A draft row is written by the drafting job before its result; tests may feed results without one.
    if (id !== undefined && text !== undefined && digestWords([text]) !== row.words_digest) {
      return `drafts.text of draft ${id} is not the text this row vouches for`;
    }
  }
  const summary = row.event_summary as { send?: { smsId?: string }; approvalId?: string } | null;
  if (row.event_type === 'xstate.done.actor.sender' && summary?.send?.smsId) {
    const body = sent.get(summary.send.smsId);
    if (body !== undefined && digestWords([body]) !== row.words_digest) {
      return `outbound_messages.body of SMS ${summary.send.smsId} is not the text this row vouches for`;
    }
  }
  const decision = REVIEW_DECISIONS[row.event_type];
  if (decision && summary?.approvalId) {
    const d = decisions.get(`${summary.approvalId}:${decision}`);
    const words = d && (decision === 'approved' || decision === 'modified' ? [d.original_text, d.final_text] : [d.original_text, null]);
    if (words && digestWords(words) !== row.words_digest) {
      return `approval_decisions of ${summary.approvalId} (${decision}) do not hold the texts this row vouches for`;
    }
  }
  return null;
}

const REVIEW_DECISIONS: Record<string, string | undefined> = {
  'review.approved': 'approved',
  'review.modified': 'modified',
  'review.rejected': 'rejected',
  'review.escalated': 'escalated',
};

function short(hash: string | null) {
  return hash === null ? 'null' : hash.slice(0, 12);
}
