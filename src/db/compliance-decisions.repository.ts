import type { DbOrTrx } from './database.js';

/** The send-time gate's last decision on a conversation (src/adapters/send-gate.ts records them), or undefined. */
export async function latestComplianceDecision(db: DbOrTrx, conversationId: string) {
  return db
    .selectFrom('compliance_decisions')
    .select(['rule', 'decision', 'detail', 'at'])
    .where('conversation_id', '=', conversationId)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}
