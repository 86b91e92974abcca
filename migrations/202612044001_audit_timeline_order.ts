import { sql, type Kysely } from 'kysely';

/**
 * `audit.timeline` gains `seq`: the order to read a conversation's rows in, 1, 2, 3… with no ties.
 * Ordered by `at, kind`, rows of one instant came out in any order: an event's microsteps and its inbound
 * text share the instant the event was applied (milliseconds), and two transitions have the same kind.
 *
 * `seq` orders by time to the millisecond (the transitions' clock; the database's own rows carry
 * microseconds from another clock), then, within one millisecond, by what causes what in one event's
 * transaction (the inbound text, the transitions in their chain order, then what they wrote: a manager's
 * decision, an escalation), then by each table's own order; the last keys are unique per row, so no two
 * rows tie.
 * Supersedes the view of 202611251810_audit_views (left as it was): same columns, `seq` added at the end,
 * still a `security_invoker` view with no rights for PUBLIC.
 */
const TIMELINE = `
  select conversation_id, at, kind, ref, actor, what, text,
         row_number() over (partition by conversation_id order by date_trunc('milliseconds', at), cause, n, ref) as seq
    from (
      select conversation_id, at, 'transition' as kind, event_id as ref, actor,
             coalesce(from_state, '∅') || ' → ' || to_state || ' on ' || event_type as what, null::text as text,
             1 as cause, seq::bigint as n
        from transitions
      union all
      select conversation_id, at, 'inbound_sms', event_id, 'debtor', 'inbound message', body, 0, id from messages
      union all
      select conversation_id, created_at, 'draft', id, 'drafter:' || drafter,
             'draft, confidence ' || confidence || ', intents ' || intents::text || coalesce(', review: ' || review_reason, ''), text,
             4, 0
        from drafts
      union all
      select conversation_id, decided_at, 'decision', approval_id, coalesce('manager:' || reviewer, 'system'),
             decision || coalesce(' (' || reason || ')', ''), final_text, 2, id
        from approval_decisions
      union all
      select conversation_id, first_attempt_at, 'outbound_sms', idempotency_key, 'sender',
             status || ', ' || attempts || ' attempt(s)' || coalesce(', sms ' || sms_agent_id, ''), body, 5, 0
        from outbound_messages
      union all
      select conversation_id, at, 'compliance', id::text, 'compliance', rule || ': ' || decision || ' — ' || detail, null, 6, id
        from compliance_decisions
      union all
      select conversation_id, opened_at, 'escalation', id::text, 'escalation',
             reason || coalesce(' [' || severity || ']', '') || coalesce(', closed ' || closed_at::text || ' as ' || resolution, ', open'), note,
             3, id
        from escalations
    ) happened`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create or replace view audit.timeline with (security_invoker = true) as ${sql.raw(TIMELINE)}`.execute(db);
  await sql`revoke all on audit.timeline from public`.execute(db);
}
