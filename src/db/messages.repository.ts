import { sql, type RawBuilder } from 'kysely';
import type { InboundMessage } from '../../machines/conversation/conversation.types.js';
import type { DbOrTrx } from './database.js';

/**
 * The debtor's texts live here, not in the conversation's snapshot: the machine counts its unanswered
 * messages, and these readers fetch the newest of them when a draft (or a manager) needs the words.
 * Every accepted `sms.received` of a live conversation is one inbound row (written in the event's own
 * transaction, docs/architecture.md §2), so the `count` unanswered ones are the conversation's newest
 * `count` inbound rows.
 */

/**
 * The most texts one reply reads. A reply answers what the debtor said lately; a backlog of hundreds
 * (a flood, a bot) would only grow the prompt and the draft's latency.
 */
export const MAX_TEXTS_PER_REPLY = 20;

export interface UnansweredOf {
  conversationId: string;
  count: number;
}

/** A conversation's newest `n` inbound rows (id, body, at, event_id), newest first: an index range (messages_conversation_idx). */
export const newestInboundSql = (conversationId: RawBuilder<unknown> | string, n: RawBuilder<unknown> | number) =>
  sql`select id, body, at, event_id from messages
      where conversation_id = ${conversationId} and direction = 'inbound'
      order by id desc limit ${n}`;

/** An inbound row as the readers return it. */
export const toInboundMessage = (row: { body: string; at: Date; event_id: string }): InboundMessage => ({ text: row.body, at: row.at.toISOString(), messageId: row.event_id });

/**
 * Has this tenant had a text of ours reach this number (any of its conversations)? As an expression, for
 * sms-delivery.ts and the facts of a draft. Only texts the agent accepted count, and not an opt-out
 * confirmation (it carries no notice).
 */
export const tenantTextedNumberSql = (tenantId: string | RawBuilder<string>, phone: string | RawBuilder<string>) =>
  sql<boolean>`exists (select 1 from outbound_messages o join conversations c on c.id = o.conversation_id
                       where c.tenant_id = ${tenantId} and c.phone = ${phone} and o.status = 'accepted' and o.kind <> 'confirmation')`;

/**
 * The newest `count` inbound texts (at most MAX_TEXTS_PER_REPLY) of each conversation, oldest first, in
 * one round trip; each conversation's read is an index range (messages_conversation_idx).
 */
export async function newestInbound(db: DbOrTrx, wanted: readonly UnansweredOf[]): Promise<Map<string, InboundMessage[]>> {
  const byConversation = new Map<string, InboundMessage[]>(wanted.map((w) => [w.conversationId, []]));
  const asked = wanted.filter((w) => w.count > 0);
  if (asked.length === 0) return byConversation;
  const { rows } = await sql<{ conversation_id: string; body: string; at: Date; event_id: string }>`
    select w.conversation_id, m.body, m.at, m.event_id
    from unnest(${asked.map((w) => w.conversationId)}::text[], ${asked.map((w) => Math.min(w.count, MAX_TEXTS_PER_REPLY))}::int[]) as w(conversation_id, n)
    cross join lateral (${newestInboundSql(sql.ref('w.conversation_id'), sql.ref('w.n'))}) as m
    order by w.conversation_id, m.id`.execute(db);
  for (const row of rows) {
    byConversation.get(row.conversation_id)!.push(toInboundMessage(row));
  }
  return byConversation;
}

/**
 * An inbound text stored under `eventId` (its idempotency key) in the conversation, and the texts this tenant
 * received from the same number after it (by arrival, across the tenant's conversations with the number),
 * oldest first; undefined when no such text is stored. For a retried consent keyword: has the debtor said
 * otherwise since?
 */
export async function inboundAndLaterTexts(db: DbOrTrx, conversationId: string, eventId: string): Promise<{ text: string; later: string[] } | undefined> {
  const { rows } = await sql<{ text: string; later: string[] }>`
    with t as (
      select m.id, m.body, c.tenant_id, c.phone from messages m join conversations c on c.id = m.conversation_id
       where m.conversation_id = ${conversationId} and m.event_id = ${eventId} and m.direction = 'inbound'
       order by m.id limit 1
    )
    select t.body as text,
           array(select m.body from conversations c join messages m on m.conversation_id = c.id
                  where c.tenant_id = t.tenant_id and c.phone = t.phone and m.direction = 'inbound' and m.id > t.id
                  order by m.id) as later
      from t`.execute(db);
  return rows[0];
}
