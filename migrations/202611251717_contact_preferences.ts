import { sql, type Kysely } from 'kysely';

/** What a debtor said about inconvenient times, per number (E.164), honoured by the calling-hours check. Frozen in time. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('contact_preferences')
    .addColumn('phone', 'text', (c) => c.primaryKey())
    .addColumn('earliest_hour', 'integer', (c) => c.check(sql`earliest_hour between 0 and 23`))
    .addColumn('latest_hour', 'integer', (c) => c.check(sql`latest_hour between 1 and 24`))
    .addColumn('not_at_work', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`alter table contact_preferences enable row level security`.execute(db);
}
