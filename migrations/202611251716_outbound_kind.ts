import { sql, type Kysely } from 'kysely';

/**
 * Each text we send says what kind it is, so frequency caps count unsolicited texts (reminders, notices)
 * apart from replies to the debtor. Rows from before are replies. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('outbound_messages')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('reply').check(sql`kind in ('reply', 'unsolicited', 'confirmation')`))
    .execute();
  await db.schema.createIndex('outbound_conversation_kind_idx').on('outbound_messages').columns(['conversation_id', 'kind', 'first_attempt_at']).execute();
}
