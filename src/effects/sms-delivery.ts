import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { OutboundKind } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { SmsAgent } from './ports.js';

/** How far back an SMS Agent timestamp may lie before our first attempt and still be that attempt (clock skew). */
export const RECONCILE_SKEW_MS = 60_000;

/**
 * Hands a text to the SMS Agent at most once per key, across crashes and retries.
 *
 * A row is committed *before* the request leaves. If a later attempt finds that row still `sending`,
 * the earlier attempt's outcome is unknown (crash or timeout after the request left): we look in the
 * SMS Agent's history first and only send again when the text is not there. The `Idempotency-Key`
 * header is sent anyway, for agents that honour it.
 */
export async function deliverSms(
  deps: { db: Db; smsAgent: SmsAgent; logger: Logger },
  message: { key: string; conversationId: string; phone: string; text: string; kind?: OutboundKind },
  signal?: AbortSignal,
): Promise<{ smsId: string }> {
  const { db, smsAgent, logger } = deps;
  // The common case, a first attempt, claims the key in one round trip; only a key already there is read.
  const first = await db
    .insertInto('outbound_messages')
    .values({ idempotency_key: message.key, conversation_id: message.conversationId, body: message.text, status: 'sending', kind: message.kind ?? 'reply' })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('idempotency_key')
    .executeTakeFirst();
  if (!first) {
    const earlier = await db.selectFrom('outbound_messages').selectAll().where('idempotency_key', '=', message.key).executeTakeFirstOrThrow();
    if (earlier.status === 'accepted') return { smsId: earlier.sms_agent_id! };
    const since = earlier.first_attempt_at.getTime() - RECONCILE_SKEW_MS;
    const history = await smsAgent.history(message.phone, signal);
    // Identical texts are common (templates): a message already claimed by another of ours is not this one.
    const claimed = await claimedSmsIds(db, message.conversationId);
    const found = history.find(
      (sms) =>
        sms.direction === 'outbound' && sms.content === message.text && Date.parse(sms.createdAt) >= since && !claimed.has(sms.id),
    );
    if (found) {
      await markAccepted(db, message.key, found.id);
      logger.warn({ conversationId: message.conversationId, key: message.key }, 'earlier send found at the SMS Agent; not sent again');
      return { smsId: found.id };
    }
    await db
      .updateTable('outbound_messages')
      .set({ attempts: sql`attempts + 1`, updated_at: sql`now()` })
      .where('idempotency_key', '=', message.key)
      .execute();
  }

  const { id } = await smsAgent.send({ to: message.phone, body: message.text, conversationId: message.conversationId }, message.key, signal);
  await markAccepted(db, message.key, id);
  return { smsId: id };
}

async function claimedSmsIds(db: Db, conversationId: string) {
  const rows = await db
    .selectFrom('outbound_messages')
    .select('sms_agent_id')
    .where('conversation_id', '=', conversationId)
    .where('sms_agent_id', 'is not', null)
    .execute();
  return new Set(rows.map((row) => row.sms_agent_id!));
}

async function markAccepted(db: Db, key: string, smsAgentId: string) {
  await db
    .updateTable('outbound_messages')
    .set({ status: 'accepted', sms_agent_id: smsAgentId, updated_at: sql`now()` })
    .where('idempotency_key', '=', key)
    .execute();
}
