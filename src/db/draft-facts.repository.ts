import { sql } from 'kysely';
import type { InboundMessage } from '../../machines/conversation/conversation.types.js';
import { preparedName, type DbOrTrx } from './database.js';
import { MAX_TEXTS_PER_REPLY, newestInboundSql, tenantTextedNumberSql, toInboundMessage } from './messages.repository.js';
import { brokenPlansSql } from './payment-plans.repository.js';

/**
 * The most texts of the thread a draft reads. The drafter keeps what fits its token budget (about a dozen or two
 * texts), newest first; reading more would only be dropped.
 */
export const HISTORY_ROWS = 50;

/** A text of the thread as our records hold it: the debtor's (`messages`) or ours the SMS Agent accepted (`outbound_messages`). */
export interface ThreadMessage {
  /** The inbound text's message id (an unanswered text's `messageId`), or the SMS Agent's id of our text. */
  id: string;
  direction: 'inbound' | 'outbound';
  content: string;
  /** ISO 8601: when we received it, or when the SMS Agent accepted ours. */
  createdAt: string;
}

export interface DraftFacts {
  /** The texts the reply answers, oldest first. */
  unanswered: InboundMessage[];
  /** The tenant's broken payment plans. */
  brokenPlans: number;
  /** Has a text of this tenant's reached this number before (the first-text notice)? */
  textedBefore: boolean;
  /**
   * This tenant's texts with this number, across its conversations with it, oldest first (the newest
   * HISTORY_ROWS; the unanswered ones included). Never another tenant's: two tenants may text one number.
   */
  history: ThreadMessage[];
}

/**
 * What the database tells a draft, in one statement instead of four (each of them still readable alone:
 * newestInbound, countBrokenPlans, tenantTextedNumber, from the same expressions; the thread only here): a
 * turn's drafting job took pooled connections and round trips for them, and an HTTP call to the SMS Agent for
 * the thread, whose history of a number mixes every tenant's texts. A named prepared statement where the pool
 * keeps sessions (its text is the same whatever the parameters).
 */
export async function readDraftFacts(db: DbOrTrx, wanted: { conversationId: string; count: number; tenantId: string; phone: string }): Promise<DraftFacts> {
  const n = Math.max(0, Math.min(wanted.count, MAX_TEXTS_PER_REPLY));
  // Each branch reads at most HISTORY_ROWS (an index range per conversation), then the newest of both are kept.
  const { rows } = await sql<{
    broken_plans: number;
    texted_before: boolean;
    unanswered: Array<{ body: string; at: string; event_id: string }> | null;
    history: Array<{ id: string; direction: 'inbound' | 'outbound'; content: string; at: string }> | null;
  }>`${preparedName('read_draft_facts')}
    with mine as (select id from conversations where tenant_id = ${wanted.tenantId} and phone = ${wanted.phone}),
    texts as (
      (select m.event_id as id, 'inbound' as direction, m.body as content, m.at from messages m
        where m.conversation_id in (select id from mine) and m.direction = 'inbound' order by m.at desc limit ${HISTORY_ROWS})
      union all
      (select o.sms_agent_id, 'outbound', o.body, o.updated_at from outbound_messages o
        where o.conversation_id in (select id from mine) and o.status = 'accepted' order by o.updated_at desc limit ${HISTORY_ROWS})
    )
    select ${brokenPlansSql(wanted.tenantId)} as broken_plans, ${tenantTextedNumberSql(wanted.tenantId, wanted.phone)} as texted_before,
           (select json_agg(u order by u.id) from (${newestInboundSql(wanted.conversationId, n)}) as u) as unanswered,
           (select json_agg(t order by t.at, t.direction) from (select * from texts order by at desc limit ${HISTORY_ROWS}) as t) as history`.execute(db);
  const facts = rows[0]!;
  return {
    unanswered: (facts.unanswered ?? []).map((row) => toInboundMessage({ ...row, at: new Date(row.at) })),
    brokenPlans: facts.broken_plans,
    textedBefore: facts.texted_before,
    history: (facts.history ?? []).map(({ id, direction, content, at }) => ({ id, direction, content, createdAt: new Date(at).toISOString() })),
  };
}
