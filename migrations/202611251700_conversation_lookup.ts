import type { Kysely } from 'kysely';

/**
 * Conversation ids derived from tenant and phone are now keyed by a secret (src/http/conversation-identity.ts),
 * so nobody can recompute one from a number: a conversation is found by tenant and phone instead, and
 * this index makes that a lookup rather than a scan. Frozen in time: never edit a migration that has shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('conversations_tenant_phone_idx').on('conversations').columns(['tenant_id', 'phone']).execute();
}
