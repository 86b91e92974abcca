import { sql } from 'kysely';
import type { InboundMessage } from '../../machines/conversation/conversation.types.js';
import type { DbOrTrx } from './database.js';
import { MAX_TEXTS_PER_REPLY, newestInboundSql, tenantTextedNumberSql, toInboundMessage } from './messages.repository.js';
import { brokenPlansSql } from './payment-plans.repository.js';

export interface DraftFacts {
  /** The texts the reply answers, oldest first. */
  unanswered: InboundMessage[];
  /** The tenant's broken payment plans. */
  brokenPlans: number;
  /** Has a text of this tenant's reached this number before (the first-text notice)? */
  textedBefore: boolean;
}

/**
 * What the database tells a draft, in one statement instead of three (each of them still readable alone:
 * newestInbound, countBrokenPlans, tenantTextedNumber, from the same expressions): a turn's drafting job
 * took three pooled connections and three round trips for them, about a tenth of a turn's statements.
 */
export async function readDraftFacts(db: DbOrTrx, wanted: { conversationId: string; count: number; tenantId: string; phone: string }): Promise<DraftFacts> {
  const n = Math.max(0, Math.min(wanted.count, MAX_TEXTS_PER_REPLY));
  // One row per text (none: one row of nulls), each with the two facts, which PostgreSQL computes once.
  const { rows } = await sql<{ broken_plans: number; texted_before: boolean; body: string | null; at: Date | null; event_id: string | null }>`
    select ${brokenPlansSql(wanted.tenantId)} as broken_plans, ${tenantTextedNumberSql(wanted.tenantId, wanted.phone)} as texted_before,
           m.body, m.at, m.event_id
    from (select 1) as one
    left join lateral (${newestInboundSql(wanted.conversationId, n)}) as m on true
    order by m.id`.execute(db);
  const first = rows[0]!;
  return {
    unanswered: rows.filter((row) => row.event_id !== null).map((row) => toInboundMessage(row as { body: string; at: Date; event_id: string })),
    brokenPlans: first.broken_plans,
    textedBefore: first.texted_before,
  };
}
