import { sql } from 'kysely';
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
    cross join lateral (
      select id, body, at, event_id from messages
      where conversation_id = w.conversation_id and direction = 'inbound'
      order by id desc limit w.n
    ) as m
    order by w.conversation_id, m.id`.execute(db);
  for (const row of rows) {
    byConversation.get(row.conversation_id)!.push({ text: row.body, at: row.at.toISOString(), messageId: row.event_id });
  }
  return byConversation;
}
