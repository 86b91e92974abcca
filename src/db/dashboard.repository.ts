import { sql } from 'kysely';
import { countConversationsByTopState } from './conversations.repository.js';
import type { Db } from './database.js';
import { pendingApprovals } from './drafts.repository.js';
import { withinScope, type TenantScope } from './tenant-scope.js';

/**
 * The collections dashboard's counts (`GET /orchestrate/metrics`, docs/api.md), in its own words, of the
 * scope's tenants only: one client's volumes are not another's business. Every query runs side by side.
 */
export async function dashboardCounts(db: Db, scope: TenantScope) {
  const [states, approvals, transitions, activity] = await Promise.all([
    countConversationsByTopState(db, scope),
    pendingApprovals(db, scope),
    withinScope(
      db
        .selectFrom('transitions')
        .select(sql<number>`count(*)::int`.as('count'))
        .where('at', '>', sql<Date>`now() - interval '24 hours'`),
      scope,
      'transitions.conversation_id',
    ).executeTakeFirstOrThrow(),
    activityCounts(db, scope),
  ]);
  return {
    ...activity,
    conversations_by_state: Object.fromEntries(states.map((row) => [row.state, row.count])),
    pending_approvals: approvals.pending,
    oldest_pending_approval_at: approvals.oldest,
    transitions_last_24h: transitions.count,
  };
}

/**
 * The activity counts, from the database, so every replica answers the same. "Today" is the UTC day.
 * - `sms_received`: inbound texts stored in the last hour; `ai_responses`: drafts made in the last hour.
 * - `auto_approval_rate`: of the drafts that left `drafting` for a send or the approval queue in the last
 *   hour, the share sent without a manager (0 when there were none).
 * - `avg_response_time`: seconds from a debtor's latest text to our accepted reply, over replies accepted
 *   in the last hour (0 when there were none).
 * - `total_messages`: inbound texts plus accepted outbound ones today; `escalations`: opened today;
 *   `payment_plans`: agreed today.
 */
async function activityCounts(db: Db, scope: TenantScope) {
  const hourAgo = sql<Date>`now() - interval '1 hour'`;
  const today = sql<Date>`date_trunc('day', now() at time zone 'utc') at time zone 'utc'`;
  const count = sql<number>`count(*)::int`;
  const inboundSince = (since: typeof hourAgo) =>
    withinScope(db.selectFrom('messages').select(count.as('n')).where('direction', '=', 'inbound').where('at', '>=', since), scope, 'messages.conversation_id').executeTakeFirstOrThrow();
  const [received, drafts, routed, response, inboundToday, outboundToday, escalations, plans] = await Promise.all([
    inboundSince(hourAgo),
    withinScope(db.selectFrom('drafts').select(count.as('n')).where('created_at', '>', hourAgo), scope, 'drafts.conversation_id').executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('transitions'), scope, 'transitions.conversation_id')
      .select([
        sql<number>`count(*) filter (where split_part(to_state, '.', 1) = 'sending')::int`.as('auto'),
        sql<number>`count(*)::int`.as('all'),
      ])
      .where('at', '>', hourAgo)
      .where(sql<string>`split_part(from_state, '.', 1)`, '=', 'drafting')
      .where(sql<string>`split_part(to_state, '.', 1)`, 'in', ['sending', 'pendingApproval'])
      .executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('outbound_messages as o'), scope, 'o.conversation_id')
      .select(
        sql<number | null>`avg(extract(epoch from o.updated_at - (
          select max(m.at) from messages m where m.conversation_id = o.conversation_id and m.direction = 'inbound' and m.at <= o.first_attempt_at
        )))::float8`.as('seconds'),
      )
      .where('o.status', '=', 'accepted')
      .where('o.updated_at', '>', hourAgo)
      .executeTakeFirstOrThrow(),
    inboundSince(today),
    withinScope(
      db.selectFrom('outbound_messages').select(count.as('n')).where('status', '=', 'accepted').where('updated_at', '>=', today),
      scope,
      'outbound_messages.conversation_id',
    ).executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('escalations').select(count.as('n')).where('opened_at', '>=', today), scope, 'escalations.conversation_id').executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('payment_plans').select(count.as('n')).where('agreed_at', '>=', today), scope, 'payment_plans.conversation_id').executeTakeFirstOrThrow(),
  ]);
  return {
    last_hour: {
      sms_received: received.n,
      ai_responses: drafts.n,
      auto_approval_rate: routed.all === 0 ? 0 : Math.round((routed.auto / routed.all) * 10_000) / 10_000,
      avg_response_time: response.seconds === null ? 0 : Math.round(response.seconds * 10) / 10,
    },
    today: { total_messages: inboundToday.n + outboundToday.n, escalations: escalations.n, payment_plans: plans.n },
  };
}
