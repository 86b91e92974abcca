import type { DbOrTrx } from './database.js';

/** Whether an event with this idempotency key was applied to the conversation already (the runtime's inbox). */
export async function wasApplied(db: DbOrTrx, conversationId: string, idempotencyKey: string): Promise<boolean> {
  const row = await db
    .selectFrom('inbox')
    .select('idempotency_key')
    .where('conversation_id', '=', conversationId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
  return row !== undefined;
}
