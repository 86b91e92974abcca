import { sql } from 'kysely';
import type { DbOrTrx } from './database.js';

/** Escalations: a person owns the conversation from `opened_at` until `closed_at`. */

export async function openEscalation(db: DbOrTrx, conversationId: string, reason: string, note: string | null) {
  await db.insertInto('escalations').values({ conversation_id: conversationId, reason, note }).execute();
}

export async function closeOpenEscalations(db: DbOrTrx, conversationId: string, resolution: string) {
  await db
    .updateTable('escalations')
    .set({ closed_at: sql`now()`, resolution })
    .where('conversation_id', '=', conversationId)
    .where('closed_at', 'is', null)
    .execute();
}
