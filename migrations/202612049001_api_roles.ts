import { sql, type Kysely } from 'kysely';

/**
 * Out of reach of Supabase's REST roles (docs/runbook.md, "Supabase's API roles"). Frozen in time.
 *
 * Supabase grants `anon` and `authenticated` everything on new tables, sequences and functions in `public`
 * (default privileges), and PostgREST serves `public` to them. Row-level security hides our rows, but not
 * TRUNCATE, nor EXECUTE on a function. So:
 * - our helper functions (the audit triggers' functions) move to the schema `orchestrator`, which PUBLIC
 *   cannot use and PostgREST does not serve; the job queue's quiet function is installed there too
 *   (src/runtime/job-queue.ts). Triggers keep their functions across the move (they hold the function's oid);
 * - the migrating role's default privileges in `public` no longer give `anon` and `authenticated` anything on
 *   the tables, sequences and functions it creates later. Their rights on our existing tables are taken
 *   away after every migration, with the service role's grants (src/db/app-role.ts).
 */
const API_ROLES = ['anon', 'authenticated'];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create schema if not exists orchestrator`.execute(db);
  await sql`revoke all on schema orchestrator from public`.execute(db);
  for (const name of ['refuse_audit_change', 'refuse_words_change', 'refuse_conversation_owner_change']) {
    await sql`alter function ${sql.raw(`public.${name}()`)} set schema orchestrator`.execute(db);
    await sql`revoke all on function ${sql.raw(`orchestrator.${name}()`)} from public`.execute(db);
  }
  const { rows } = await sql<{ rolname: string }>`select rolname from pg_roles where rolname = any(${API_ROLES})`.execute(db);
  const roles = rows.map((row) => `"${row.rolname}"`).join(', ');
  if (!roles) return;
  for (const kind of ['tables', 'sequences', 'functions']) {
    await sql.raw(`alter default privileges in schema public revoke all on ${kind} from ${roles}`).execute(db);
  }
}
