import type { DbOrTrx } from './database.js';

/** What an unconfirmed number answered to the identity question; once per answering message (a rerun writes nothing). */
export async function recordIdentityClaim(
  db: DbOrTrx,
  claim: { conversationId: string; messageId: string; claimedName: string; namesOnRecord: readonly string[] },
) {
  await db
    .insertInto('identity_claims')
    .values({
      conversation_id: claim.conversationId,
      message_id: claim.messageId,
      claimed_name: claim.claimedName,
      names_on_record: JSON.stringify(claim.namesOnRecord),
    })
    .onConflict((oc) => oc.constraint('identity_claims_message').doNothing())
    .execute();
}

/** The newest claim of a conversation, for the manager's notification. */
export async function latestIdentityClaim(db: DbOrTrx, conversationId: string) {
  return db
    .selectFrom('identity_claims')
    .select(['claimed_name', 'names_on_record', 'claimed_at'])
    .where('conversation_id', '=', conversationId)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}
