import { sql, type Kysely } from 'kysely';

/**
 * An SMS Agent message is claimed by at most one of our outbound rows, across every conversation and tenant:
 * a retry that reconciles with the agent's history can no longer adopt another conversation's identical text
 * (docs/architecture.md §4). Rows written before, two claiming one id (that mistake), keep the claim on the
 * row that was accepted first; the later ones keep `accepted` (the conversation moved on) without an id,
 * since which of them really sent it cannot be told any more. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update outbound_messages o set sms_agent_id = null
      from (select idempotency_key, row_number() over (partition by sms_agent_id order by updated_at, first_attempt_at, idempotency_key) as n
              from outbound_messages where sms_agent_id is not null) ranked
     where o.idempotency_key = ranked.idempotency_key and ranked.n > 1`.execute(db);
  await sql`create unique index outbound_sms_agent_id_key on outbound_messages (sms_agent_id) where sms_agent_id is not null`.execute(db);
}
