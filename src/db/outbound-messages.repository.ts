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
 * The claim of `key` as a statement that returns a row when it claimed: a first attempt, or one after the gate
 * held the text back (a `held` row is a first attempt again: counted from now, one attempt). No row: the key was
 * claimed before (a retry, or a crash after the claim). `onlyIf`: claim only when it holds (the gate's read
 * claims only for a number that has not opted out).
 */
export function claimOutboundSql(message: OutboundClaim, onlyIf: RawBuilder<boolean> = sql<boolean>`true`) {
  return sql`insert into outbound_messages (idempotency_key, conversation_id, body, status, kind)
    select ${message.key}, ${message.conversationId}, ${message.text}, 'sending', ${message.kind} where ${onlyIf}
    on conflict (idempotency_key) do update set status = 'sending', attempts = 1, first_attempt_at = now(), updated_at = now()
      where outbound_messages.status = 'held'
    returning true as claimed`;
}

/** Claims `key` for a first attempt; false when the key was claimed before (a retry, or a crash after the claim). */
export async function claimOutbound(db: DbOrTrx, message: OutboundClaim): Promise<boolean> {
  const { rows } = await sql<{ claimed: boolean }>`${preparedName('claim_outbound')} ${claimOutboundSql(message)}`.execute(db);
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
  await sql`${preparedName('mark_outbound_accepted')}
    update outbound_messages set status = 'accepted', sms_agent_id = ${smsAgentId}, updated_at = now()
     where idempotency_key = ${key}`.execute(db);
}

/** Which of these agent texts some row of ours already claims. */
export async function claimedAgentIds(db: DbOrTrx, smsAgentIds: readonly string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('outbound_messages').select('sms_agent_id').where('sms_agent_id', 'in', smsAgentIds).execute();
  return new Set(rows.map((row) => row.sms_agent_id!));
}
