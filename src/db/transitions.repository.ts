import type { DbOrTrx } from './database.js';

/** A conversation's hash-chained audit trail, oldest first (written by the runtime, src/runtime/apply-event.ts). */
export async function listTransitions(db: DbOrTrx, conversationId: string) {
  return db
    .selectFrom('transitions')
    .select(['seq', 'from_state', 'to_state', 'event_type', 'event_id', 'actor', 'at', 'prev_hash', 'hash'])
    .where('conversation_id', '=', conversationId)
    .orderBy('seq')
    .execute();
}
