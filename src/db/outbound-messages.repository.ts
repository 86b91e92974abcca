import { sql, type Selectable } from 'kysely';
import { preparedName, type DbOrTrx } from './database.js';
import type { OutboundKind, OutboundMessagesTable } from './schema.js';

/**
 * Our texts to the SMS Agent, one row per idempotency key: claimed (`sending`) before the request leaves,
 * `accepted` with the agent's id once it took the text (src/adapters/sms-delivery.ts). The claim and the
 * acceptance run on every send, so they are prepared where the pool may keep them (docs/architecture.md §5).
 */

export type OutboundRow = Selectable<OutboundMessagesTable>;

/** Claims `key` for a first attempt; false when the key was claimed before (a retry, or a crash after the claim). */
export async function claimOutbound(db: DbOrTrx, message: { key: string; conversationId: string; text: string; kind: OutboundKind }): Promise<boolean> {
  const { rows } = await sql<{ claimed: boolean }>`${preparedName('claim_outbound')}
    insert into outbound_messages (idempotency_key, conversation_id, body, status, kind)
    values (${message.key}, ${message.conversationId}, ${message.text}, 'sending', ${message.kind})
    on conflict (idempotency_key) do nothing
    returning true as claimed`.execute(db);
  return rows.length > 0;
}

export async function readOutbound(db: DbOrTrx, key: string): Promise<OutboundRow> {
  return db.selectFrom('outbound_messages').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
}

/** Another attempt at a claimed key whose earlier outcome is unknown. */
export async function countAttempt(db: DbOrTrx, key: string): Promise<void> {
  await db
    .updateTable('outbound_messages')
    .set({ attempts: sql`attempts + 1`, updated_at: sql`now()` })
    .where('idempotency_key', '=', key)
    .execute();
}

/** The SMS Agent took the text under `smsAgentId` (unique: one of our rows per agent text). */
export async function markAccepted(db: DbOrTrx, key: string, smsAgentId: string): Promise<void> {
  await sql`${preparedName('mark_outbound_accepted')}
    update outbound_messages set status = 'accepted', sms_agent_id = ${smsAgentId}, updated_at = now()
     where idempotency_key = ${key}`.execute(db);
}

/** Which of these agent texts some row of ours already claims. */
export async function claimedAgentIds(db: DbOrTrx, smsAgentIds: readonly string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('outbound_messages').select('sms_agent_id').where('sms_agent_id', 'in', smsAgentIds).execute();
  return new Set(rows.map((row) => row.sms_agent_id!));
}
