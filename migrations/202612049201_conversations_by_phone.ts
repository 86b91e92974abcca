import type { Kysely } from 'kysely';

/**
 * The send gate counts the texts that reached a number in the last week across every tenant's conversations
 * with it (the caps are the number's), and so filters conversations by phone alone. The only index led with
 * tenant_id, so each send scanned every conversation (debtors are one tenant each): ~15 ms at 20,000
 * conversations, growing with the table. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('conversations_phone_idx').on('conversations').column('phone').execute();
}
