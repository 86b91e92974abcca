import { sql, type Kysely } from 'kysely';

/**
 * Every decision of the send-time gate that holds a text back (deferred until an allowed hour, blocked,
 * withheld) is a row here, append-only like the audit trail. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('compliance_decisions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    // Says what and until when, never the text or the number: "deferred until 2026-11-26 08:00 America/Chicago".
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('compliance_decisions_conversation_idx').on('compliance_decisions').columns(['conversation_id', 'id']).execute();
  await sql`create trigger compliance_decisions_append_only before update or delete on compliance_decisions
    for each row execute function refuse_audit_change()`.execute(db);
  await sql`create trigger compliance_decisions_no_truncate before truncate on compliance_decisions
    for each statement execute function refuse_audit_change()`.execute(db);
  await sql`alter table compliance_decisions enable row level security`.execute(db);
}
