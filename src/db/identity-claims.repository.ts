import { sql, type RawBuilder } from 'kysely';
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

/** A claim as the managers see it (the notification, the escalation list). */
export interface IdentityClaimView {
  claimed_name: string;
  names_on_record: string[];
  claimed_at: string;
}

/** The newest claim of a conversation (its id, or an expression of it) as JSON, null when there is none: one definition for every reader. */
export const newestIdentityClaimSql = (conversationId: string | RawBuilder<string>) =>
  sql<IdentityClaimView | null>`(select json_build_object('claimed_name', c.claimed_name, 'names_on_record', c.names_on_record, 'claimed_at', c.claimed_at)
     from identity_claims c where c.conversation_id = ${conversationId} order by c.id desc limit 1)`;

/** The newest claim of a conversation, for the manager's notification. */
export async function latestIdentityClaim(db: DbOrTrx, conversationId: string): Promise<IdentityClaimView | null> {
  const { rows } = await sql<{ claim: IdentityClaimView | null }>`select ${newestIdentityClaimSql(conversationId)} as claim`.execute(db);
  return rows[0]!.claim;
}
