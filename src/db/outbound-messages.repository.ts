import { sql, type RawBuilder, type Selectable } from 'kysely';
import { preparedName, type DbOrTrx } from './database.js';
import type { OutboundKind, OutboundMessagesTable } from './schema.js';

/**
 * Our texts to the SMS Agent, one row per idempotency key: claimed (`sending`) before the request leaves,
 * `accepted` with the agent's id once it took the text (src/adapters/sms-delivery.ts), `held` when the send-time
 * gate, which claims with its read, held the text back (it never left; the next attempt claims it again).
 * The claim and the acceptance run on every send, so they are prepared where the pool may keep them
 * (docs/architecture.md §5).
 */

export type OutboundRow = Selectable<OutboundMessagesTable>;

export interface OutboundClaim {
  key: string;
  conversationId: string;
  text: string;
  kind: OutboundKind;
}

/**
 * The claim of each text `texts` selects (columns key, conversation_id, body, kind) as a statement that returns
 * the keys it claimed: a first attempt, or one after the gate held the text back (a `held` row is a first
 * attempt again: counted from now, one attempt). A key it does not return was claimed before (a retry, or a
 * crash after the claim). One text, or the gate's batch (src/adapters/send-gate.ts); a key at most once.
 */
export function claimOutboundSql(texts: RawBuilder<unknown>) {
  return sql`insert into outbound_messages (idempotency_key, conversation_id, body, status, kind)
    select t.key, t.conversation_id, t.body, 'sending', t.kind from (${texts}) as t
    on conflict (idempotency_key) do update set status = 'sending', attempts = 1, first_attempt_at = now(), updated_at = now()
      where outbound_messages.status = 'held'
    returning idempotency_key`;
}

/** Claims `key` for a first attempt; false when the key was claimed before (a retry, or a crash after the claim). */
export async function claimOutbound(db: DbOrTrx, message: OutboundClaim): Promise<boolean> {
  const text = sql`select ${message.key}::text as key, ${message.conversationId}::text as conversation_id, ${message.text}::text as body, ${message.kind}::text as kind`;
  const { rows } = await sql`${preparedName('claim_outbound')} ${claimOutboundSql(text)}`.execute(db);
  return rows.length > 0;
}

/**
 * The gate held back a text it had claimed: the claim is given back (`held`), so that no cap counts it and the
 * next attempt sends it as a first one. Only the claim this attempt took: not one a concurrent attempt has
 * counted since (it may be sending), nor one already accepted.
 */
export async function giveBackClaim(db: DbOrTrx, key: string): Promise<void> {
  await db
    .updateTable('outbound_messages')
    .set({ status: 'held', updated_at: sql`now()` })
    .where('idempotency_key', '=', key)
    .where('status', '=', 'sending')
    .where('attempts', '=', 1)
    .execute();
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
  await markAllAccepted(db, [{ key, smsAgentId }]);
}

/** What the SMS Agent answered for one of our texts. */
export interface Acceptance {
  key: string;
  smsAgentId: string;
}

/** Several texts accepted, in one statement (the group fence's batch: src/runtime/group-fence.ts). */
export async function markAllAccepted(db: DbOrTrx, accepted: readonly Acceptance[]): Promise<void> {
  await sql`${preparedName('mark_outbound_accepted')}
    update outbound_messages o set status = 'accepted', sms_agent_id = a.sms_agent_id, updated_at = now()
      from unnest(${accepted.map((one) => one.key)}::text[], ${accepted.map((one) => one.smsAgentId)}::text[]) as a(key, sms_agent_id)
     where o.idempotency_key = a.key`.execute(db);
}

/** Which of these agent texts some row of ours already claims. */
export async function claimedAgentIds(db: DbOrTrx, smsAgentIds: readonly string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('outbound_messages').select('sms_agent_id').where('sms_agent_id', 'in', smsAgentIds).execute();
  return new Set(rows.map((row) => row.sms_agent_id!));
}
