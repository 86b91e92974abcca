import { sql, type RawBuilder } from 'kysely';
import type { Language } from '../../machines/conversation/conversation.types.js';
import type { DbOrTrx } from './database.js';
import { ALL_TENANTS, withinScope, type TenantScope } from './tenant-scope.js';

/** Drafts and the approval queue (a draft that needs a manager carries a review status). */

export interface DraftRecord {
  id: string;
  conversationId: string;
  drafter: string;
  model: string | null;
  promptVersion: string | null;
  confidence: number;
  intents: string[];
  /** What the draft does about a payment plan (stored in the `plan` column). */
  negotiation: object | null;
  reasons: string[];
  rawText: string | null;
  text: string;
  reviewReason: string | null;
  usage: object | null;
  latencyMs: number;
}

/** The columns a new draft is written with; the rest (review, timestamps) start empty or at their defaults. */
const NEW_DRAFT_COLUMNS = sql.raw('id, conversation_id, drafter, model, prompt_version, confidence, intents, plan, reasons, raw_text, text, review_reason, usage, latency_ms');

/** Drafts as one JSON array of rows of `drafts` (json_populate_recordset's input). */
function draftsJson(drafts: readonly DraftRecord[]): string {
  return JSON.stringify(
    drafts.map((draft) => ({
      id: draft.id,
      conversation_id: draft.conversationId,
      drafter: draft.drafter,
      model: draft.model,
      prompt_version: draft.promptVersion,
      confidence: draft.confidence,
      intents: draft.intents,
      plan: draft.negotiation,
      reasons: draft.reasons,
      raw_text: draft.rawText,
      text: draft.text,
      review_reason: draft.reviewReason,
      usage: draft.usage,
      latency_ms: draft.latencyMs,
    })),
  );
}

/**
 * Inserts drafts (one already there stays as it was): a statement of its own (insertDraft), or a part of the
 * one that applies the drafting result (src/db/event-store.ts), so that a draft and the result that refers to
 * it commit together; there only the drafts of `conversations` (a SQL set of ids) are written.
 */
export function insertDraftsSql(drafts: readonly DraftRecord[], conversations?: RawBuilder<unknown>) {
  return sql`insert into drafts (${NEW_DRAFT_COLUMNS})
    select ${NEW_DRAFT_COLUMNS} from json_populate_recordset(null::drafts, ${draftsJson(drafts)}::json) as d
    ${conversations ? sql`where d.conversation_id in ${conversations}` : sql``}
    on conflict (id) do nothing`;
}

export async function insertDraft(db: DbOrTrx, draft: DraftRecord) {
  await insertDraftsSql([draft]).execute(db);
}

/** The approval queue at a glance: how many wait, since when, and how long the oldest has (database clock). */
export async function pendingApprovals(db: DbOrTrx, scope: TenantScope = ALL_TENANTS): Promise<{ pending: number; oldest: Date | null; oldestAgeSeconds: number }> {
  return withinScope(
    db
      .selectFrom('drafts')
      .select([
        sql<number>`count(*)::int`.as('pending'),
        sql<Date | null>`min(queued_at)`.as('oldest'),
        sql<number>`coalesce(extract(epoch from now() - min(queued_at)), 0)::float8`.as('oldestAgeSeconds'),
      ])
      .where('review_status', '=', 'pending'),
    scope,
    'drafts.conversation_id',
  ).executeTakeFirstOrThrow();
}

export async function queueForApproval(db: DbOrTrx, draftId: string) {
  await db.updateTable('drafts').set({ review_status: 'pending', queued_at: sql`now()` }).where('id', '=', draftId).execute();
}

/** Decides a pending item: the queue row changes state and the decision is appended to its audit table. */
export async function closeApproval(
  db: DbOrTrx,
  decision: { approvalId: string; status: string; reviewer: string | null; finalText: string | null; reason: string | null },
) {
  const decided = await db
    .updateTable('drafts')
    .set({
      review_status: decision.status,
      reviewer: decision.reviewer,
      final_text: decision.finalText,
      decision_reason: decision.reason,
      decided_at: sql`now()`,
    })
    .where('id', '=', decision.approvalId)
    .where('review_status', '=', 'pending')
    .returning(['conversation_id', 'text', 'queued_at'])
    .executeTakeFirst();
  if (!decided) return;
  await db
    .insertInto('approval_decisions')
    .values({
      approval_id: decision.approvalId,
      conversation_id: decided.conversation_id,
      decision: decision.status,
      reviewer: decision.reviewer,
      original_text: decided.text,
      final_text: decision.finalText,
      reason: decision.reason,
      queued_at: decided.queued_at,
    })
    .execute();
}

/** A queue item with the state its conversation is in now (to explain a refusal); none outside the scope. */
export async function findApproval(db: DbOrTrx, approvalId: string, scope: TenantScope) {
  const query = db
    .selectFrom('drafts')
    .innerJoin('conversations', 'conversations.id', 'drafts.conversation_id')
    .selectAll('drafts')
    .select('conversations.state')
    // The debtor's language, which a manager's text is judged in: read here, so a decision needs no second read.
    .select(sql<Language | null>`conversations.snapshot->'context'->'draft'->>'language'`.as('draft_language'))
    .where('drafts.id', '=', approvalId)
    .where('drafts.review_status', 'is not', null);
  return withinScope(query, scope, 'drafts.conversation_id').executeTakeFirst();
}

/**
 * The conversation's approval-queue item a decision is for: the pending one, else the latest (a retried
 * decision gets its first answer, a late one its 409), newest queued first.
 */
export async function findLatestApprovalId(db: DbOrTrx, conversationId: string): Promise<string | undefined> {
  const draft = await db
    .selectFrom('drafts')
    .select('id')
    .where('conversation_id', '=', conversationId)
    .where('review_status', 'is not', null)
    .orderBy(sql`review_status = 'pending'`, 'desc')
    .orderBy('queued_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return draft?.id;
}

/** Oldest first, of the scope's tenants; keyset pagination on (queued_at, id), continuing after the item `afterId`. */
export async function listApprovals(db: DbOrTrx, options: { status: string; limit: number; afterId?: string; scope: TenantScope }) {
  let query = db
    .selectFrom('drafts')
    .innerJoin('conversations', 'conversations.id', 'drafts.conversation_id')
    .select([
      'drafts.id',
      'drafts.conversation_id',
      'drafts.drafter',
      'drafts.model',
      'drafts.confidence',
      'drafts.intents',
      'drafts.plan',
      'drafts.text',
      'drafts.review_reason',
      'drafts.review_status',
      'drafts.queued_at',
      'drafts.decided_at',
      'drafts.reviewer',
      'drafts.final_text',
      'conversations.tenant_id',
      'conversations.state',
      'conversations.snapshot',
    ])
    .where('drafts.review_status', '=', options.status)
    .orderBy('drafts.queued_at')
    .orderBy('drafts.id')
    .limit(options.limit);
  if (options.afterId) {
    // Compared in SQL: timestamps keep microseconds there, which a JavaScript Date would round away.
    query = query.where(
      sql<boolean>`(drafts.queued_at, drafts.id) > (select d.queued_at, d.id from drafts d where d.id = ${options.afterId})`,
    );
  }
  return withinScope(query, options.scope, 'drafts.conversation_id').execute();
}
