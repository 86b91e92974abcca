import { sql, type Kysely } from 'kysely';

/**
 * What a number nobody has confirmed answered to the identity question: the name it gave, beside the names
 * the tenant's record holds, for the manager who verifies it (the `identity_verification` escalation).
 * Append-only; one row per answering message. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('identity_claims')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('claimed_name', 'text', (c) => c.notNull())
    .addColumn('names_on_record', 'jsonb', (c) => c.notNull())
    .addColumn('claimed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('identity_claims_message', ['conversation_id', 'message_id'])
    .execute();
  await sql`alter table identity_claims enable row level security`.execute(db);
}
