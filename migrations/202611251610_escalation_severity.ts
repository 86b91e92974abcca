import { sql, type Kysely } from 'kysely';

/** Escalations remember the severity the escalating person or service gave. Frozen in time. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('escalations').addColumn('severity', 'text').execute();
  // The managers' list of open cases, oldest first.
  await sql`create index escalations_open_by_age_idx on escalations (opened_at) where closed_at is null`.execute(db);
}
