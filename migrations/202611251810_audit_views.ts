import { sql, type Kysely } from 'kysely';

/**
 * Views for reviewers and auditors (docs/audit.md), in their own schema `audit`. Frozen in time.
 *
 * They are `security_invoker` views: a view normally runs with its owner's rights, and the owner is not
 * bound by row-level security, so a view in an exposed schema would hand every row to anyone allowed to
 * select from it (Supabase grants `anon` select on new relations in `public`). As invokers' views they
 * read with the reader's rights: the service (the owner) sees everything, `anon` sees nothing. They also
 * live outside `public`, which Supabase's REST API does not expose, and PUBLIC has no rights on them.
 */
const VIEWS: Record<string, string> = {
  // Everything that happened to a conversation, interleaved by time. Holds the words: reviewers only.
  timeline: `
    select conversation_id, at, 'transition' as kind, event_id as ref, actor,
           coalesce(from_state, '∅') || ' → ' || to_state || ' on ' || event_type as what, null::text as text
      from transitions
    union all
    select conversation_id, at, 'inbound_sms', event_id, 'debtor', 'inbound message', body from messages
    union all
    select conversation_id, created_at, 'draft', id, 'drafter:' || drafter,
           'draft, confidence ' || confidence || ', intents ' || intents::text || coalesce(', review: ' || review_reason, ''), text
      from drafts
    union all
    select conversation_id, decided_at, 'decision', approval_id, coalesce('manager:' || reviewer, 'system'),
           decision || coalesce(' (' || reason || ')', ''), final_text
      from approval_decisions
    union all
    select conversation_id, first_attempt_at, 'outbound_sms', idempotency_key, 'sender',
           status || ', ' || attempts || ' attempt(s)' || coalesce(', sms ' || sms_agent_id, ''), body
      from outbound_messages
    union all
    select conversation_id, at, 'compliance', id::text, 'compliance', rule || ': ' || decision || ' — ' || detail, null from compliance_decisions
    union all
    select conversation_id, opened_at, 'escalation', id::text, 'escalation',
           reason || coalesce(' [' || severity || ']', '') || coalesce(', closed ' || closed_at::text || ' as ' || resolution, ', open'), note
      from escalations`,

  // Every decision on a queued draft: what the drafter wrote, what went out, whether a person changed it.
  manager_decisions: `
    select d.conversation_id, d.approval_id, d.decision, d.reviewer, d.queued_at, d.decided_at,
           d.decided_at - d.queued_at as waited, d.original_text, d.final_text,
           d.final_text is not null and d.final_text is distinct from d.original_text as text_changed, d.reason
      from approval_decisions d`,

  // What the send-time gate held back: deferred to an allowed hour, blocked, withheld.
  compliance_holds: `
    select conversation_id, at, rule, decision, detail from compliance_decisions`,

  // Escalations by type and severity: how many, how many still open, how long they took to close.
  escalations_by_type: `
    select reason, severity, count(*) as total, count(*) filter (where closed_at is null) as open,
           avg(closed_at - opened_at) filter (where closed_at is not null) as mean_time_to_close,
           min(opened_at) as first_opened, max(opened_at) as last_opened
      from escalations group by reason, severity`,

  // Every plan with its instalments, one row per instalment.
  plan_instalments: `
    select p.conversation_id, p.id as plan_id, p.status as plan_status, p.frequency, p.total_cents, p.paid_cents as plan_paid_cents,
           p.missed, p.time_zone, p.agreed_at, i.seq, i.due_on, i.amount_cents, i.paid_cents, i.status
      from payment_plans p join plan_instalments i on i.plan_id = p.id`,

  // How long each conversation has been in its current state (entered by the last transition that moved into it).
  state_age: `
    select c.id as conversation_id, c.tenant_id, c.state, entered.at as entered_at, now() - coalesce(entered.at, c.created_at) as in_state_for,
           c.updated_at as last_activity
      from conversations c
      left join lateral (
        select t.at from transitions t
         where t.conversation_id = c.id and t.to_state = c.state and t.from_state is distinct from t.to_state
         order by t.seq desc limit 1
      ) entered on true`,
};

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create schema if not exists audit`.execute(db);
  await sql`revoke all on schema audit from public`.execute(db);
  for (const [name, body] of Object.entries(VIEWS)) {
    await sql`create view ${sql.raw(`audit.${name}`)} with (security_invoker = true) as ${sql.raw(body)}`.execute(db);
    await sql`revoke all on ${sql.raw(`audit.${name}`)} from public`.execute(db);
  }
}
