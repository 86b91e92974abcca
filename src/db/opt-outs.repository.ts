import type { DbOrTrx } from './database.js';

/** Opt-outs hold for a phone number across conversations and tenants; the first conversation to record one owns it. */

export async function recordOptOut(db: DbOrTrx, phone: string, conversationId: string) {
  await db
    .insertInto('opt_outs')
    .values({ phone, conversation_id: conversationId })
    .onConflict((oc) => oc.column('phone').doNothing())
    .execute();
}

export async function findOptOut(db: DbOrTrx, phone: string) {
  return db.selectFrom('opt_outs').select(['phone', 'conversation_id']).where('phone', '=', phone).executeTakeFirst();
}
