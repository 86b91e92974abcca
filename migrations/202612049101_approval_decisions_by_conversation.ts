import type { Kysely } from 'kysely';

/**
 * The console's timeline reads a conversation's newest approval decisions (GET /v1/conversations/{id}/timeline,
 * every 2 s per open page); the table had no index on conversation_id, so each read scanned it. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('approval_decisions_conversation_idx').on('approval_decisions').columns(['conversation_id', 'id']).execute();
}
