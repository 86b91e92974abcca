import { sql, type RawBuilder } from 'kysely';
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

/** What a draft asks the database: the conversation, how many unanswered texts, its tenant and number. */
export interface DraftFactsWanted {
  conversationId: string;
  count: number;
  tenantId: string;
  phone: string;
}

/**
 * What the database tells a draft, in one statement instead of four (each of them still readable alone:
 * newestInbound, countBrokenPlans, tenantTextedNumber, from the same expressions; the thread only here): a
 * turn's drafting job took pooled connections and round trips for them, and an HTTP call to the SMS Agent for
 * the thread, whose history of a number mixes every tenant's texts. Several drafts' facts are read in the same
 * statement, each in a lateral (the drafting jobs of a burst read together: createDraftFactsReads in
 * src/adapters/activities.ts). A named prepared statement where the pool keeps sessions (its text is the same
 * whatever the parameters and the batch; no `limit` with the batch's size, which PostgreSQL would plan afresh
 * for on every run, as readSendFactsAndClaim says).
 */
export async function readDraftFacts(db: DbOrTrx, wanted: readonly DraftFactsWanted[]): Promise<DraftFacts[]> {
  const requests = wanted.map((one, ord) => ({
    ord,
    conversation_id: one.conversationId,
    n: Math.max(0, Math.min(one.count, MAX_TEXTS_PER_REPLY)),
    tenant_id: one.tenantId,
    phone: one.phone,
  }));
  const { rows } = await sql<{
    broken_plans: number;
    texted_before: boolean;
    unanswered: Array<{ body: string; at: string; event_id: string }> | null;
    history: Array<{ id: string; direction: 'inbound' | 'outbound'; content: string; at: string }> | null;
  }>`${preparedName('read_draft_facts')}
    with request as (
      select * from json_to_recordset(${JSON.stringify(requests)}::json) as r(ord int, conversation_id text, n int, tenant_id text, phone text)
    )
    select f.* from request r
     cross join lateral ${draftFactsSql(sql<string>`r.conversation_id`, sql<number>`r.n`, sql<string>`r.tenant_id`, sql<string>`r.phone`)} as f
     order by r.ord`.execute(db);
  return rows.map((facts) => ({
    unanswered: (facts.unanswered ?? []).map((row) => toInboundMessage({ ...row, at: new Date(row.at) })),
    brokenPlans: facts.broken_plans,
    textedBefore: facts.texted_before,
    history: (facts.history ?? []).map(({ id, direction, content, at }) => ({ id, direction, content, createdAt: new Date(at).toISOString() })),
  }));
}

/**
 * One draft's facts as a subquery of one row, from SQL expressions of what it asks. The thread: each branch
 * reads at most HISTORY_ROWS (an index range per conversation of this tenant with the number), then the newest
 * of both are kept.
 */
function draftFactsSql(conversationId: RawBuilder<string>, n: RawBuilder<number>, tenantId: RawBuilder<string>, phone: RawBuilder<string>) {
  // A literal, not a parameter: a generic plan that does not know the limit reads the thread the slow way.
  const rows = sql.lit(HISTORY_ROWS);
  const mine = sql`(select id from conversations where tenant_id = ${tenantId} and phone = ${phone})`;
  return sql`(
    select ${brokenPlansSql(tenantId)} as broken_plans, ${tenantTextedNumberSql(tenantId, phone)} as texted_before,
           (select json_agg(u order by u.id) from (${newestInboundSql(conversationId, n)}) as u) as unanswered,
           (select json_agg(t order by t.at, t.direction) from (
              select * from (
                (select m.event_id as id, 'inbound' as direction, m.body as content, m.at from messages m
                  where m.conversation_id in ${mine} and m.direction = 'inbound' order by m.at desc limit ${rows})
                union all
                (select o.sms_agent_id, 'outbound', o.body, o.updated_at from outbound_messages o
                  where o.conversation_id in ${mine} and o.status = 'accepted' order by o.updated_at desc limit ${rows})
              ) as texts order by at desc limit ${rows}) as t) as history)`;
}
