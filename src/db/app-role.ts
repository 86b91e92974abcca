import { sql } from 'kysely';
import type { Db } from './database.js';
import { HELPER_SCHEMA, QUIET_ADD_JOBS_FUNCTION } from './job-queue-schema.js';

/**
 * Least privilege (docs/runbook.md, "The service's database role"). The tables' owner migrates; the running
 * service can connect as a login role that is a member of APP_ROLE, which may do exactly what the code does
 * to each table and nothing else: records that only grow get SELECT and INSERT, so UPDATE, DELETE and
 * TRUNCATE of an audit row are refused by the database's privileges before any trigger is reached, and
 * disabling those triggers (ALTER TABLE, session_replication_role) is the owner's alone.
 */
export const APP_ROLE = 'orchestrator_app';

type Privilege = 'select' | 'insert' | 'update' | 'delete';

/** Our functions the service calls, besides the job queue's (migration 202612059001). */
const OPT_OUT_FUNCTIONS = ['opt_out_lock_key(text)', 'opted_out(text, text)', 'hold_number_then_opted_out(text, text)'];

const APPEND_ONLY: readonly Privilege[] = ['select', 'insert'];
const MUTABLE: readonly Privilege[] = ['select', 'insert', 'update'];

/** Every table in `public`, with what the service does to it (a test fails for a table missing here). */
export const TABLE_PRIVILEGES: Readonly<Record<string, readonly Privilege[]>> = {
  // Append-only: the audit trail and the records beside it (triggers refuse changes as well).
  transitions: APPEND_ONLY,
  messages: APPEND_ONLY,
  approval_decisions: APPEND_ONLY,
  compliance_decisions: APPEND_ONLY,
  payment_plan_history: APPEND_ONLY,
  // What an unconfirmed number said its name was, for the manager who verifies it.
  identity_claims: APPEND_ONLY,
  // A notification's key, written once when it was sent.
  effect_log: APPEND_ONLY,
  // Who unmasked a debtor's number in the console.
  phone_reveals: APPEND_ONLY,
  // Current pictures, updated by design (their words are kept by triggers: drafts, outbound_messages).
  conversations: MUTABLE,
  inbox: MUTABLE,
  drafts: MUTABLE,
  outbound_messages: MUTABLE,
  escalations: MUTABLE,
  payment_plans: MUTABLE,
  plan_instalments: MUTABLE,
  contact_preferences: MUTABLE, // upserted: a later statement overrides what it states
  // A number opts out and, with consent, back in (the row is removed).
  opt_outs: ['select', 'insert', 'delete'],
  // Start-up reads that no migration is pending; only the owner applies them.
  kysely_migration: ['select'],
  kysely_migration_lock: ['select'],
};

/** graphile-worker's queue: its functions and tables are used as the library needs (it deletes finished jobs). */
const JOB_SCHEMA = 'graphile_worker';

/**
 * Supabase's REST roles. Its default privileges give them everything on what the migrating role creates in
 * `public`; row-level security hides our rows from them, but not TRUNCATE. They keep nothing on ours.
 */
const API_ROLES = ['anon', 'authenticated'];

/**
 * Creates APP_ROLE if it is missing and sets its privileges to exactly TABLE_PRIVILEGES (plus the job
 * queue), with a row-level-security policy per table so it sees rows where Supabase's anon and authenticated
 * roles still see none. Run after every migration, by the owner; a connection that does not own the tables
 * (the service running as APP_ROLE) skips it. Idempotent; run through migrateDatabase, which runs one at a time.
 */
export async function grantAppRole(db: Db): Promise<'granted' | 'not_owner'> {
  const { rows } = await sql<{ owner: boolean }>`
    select pg_has_role(current_user, relowner, 'usage') as owner from pg_class where oid = 'public.conversations'::regclass`.execute(db);
  if (!rows[0]?.owner) return 'not_owner';
  await db.transaction().execute(async (trx) => {
    await sql.raw(`do $$ begin
        if not exists (select 1 from pg_roles where rolname = '${APP_ROLE}') then create role ${APP_ROLE} nologin; end if;
      exception
        when duplicate_object or unique_violation then null; -- another database of this server created it just now
        when insufficient_privilege then
          raise exception 'cannot create role ${APP_ROLE}: have an administrator run "create role ${APP_ROLE} nologin", then migrate again';
      end $$`).execute(trx);
    const role = sql.id(APP_ROLE);
    await sql`grant usage on schema public to ${role}`.execute(trx);
    for (const [table, privileges] of Object.entries(TABLE_PRIVILEGES)) {
      await sql`revoke all on ${sql.table(table)} from ${role}`.execute(trx);
      await sql.raw(`grant ${privileges.join(', ')} on "${table}" to ${APP_ROLE}`).execute(trx);
    }
    // The bigserial ids of the tables it inserts into.
    await sql`grant usage on all sequences in schema public to ${role}`.execute(trx);
    await sql`grant usage on schema ${sql.id(JOB_SCHEMA)} to ${role}`.execute(trx);
    await sql`grant select, insert, update, delete on all tables in schema ${sql.id(JOB_SCHEMA)} to ${role}`.execute(trx);
    await sql`grant usage, select on all sequences in schema ${sql.id(JOB_SCHEMA)} to ${role}`.execute(trx);
    await sql`grant execute on all functions in schema ${sql.id(JOB_SCHEMA)} to ${role}`.execute(trx);
    // Events write their jobs through it (job-queue.ts); granted by name, not left to PUBLIC's default.
    await sql`grant usage on schema ${sql.id(HELPER_SCHEMA)} to ${role}`.execute(trx);
    await sql.raw(`grant execute on function ${QUIET_ADD_JOBS_FUNCTION} to ${APP_ROLE}`).execute(trx);
    // The opt-out rule and the number's lock (migration 202612059001): the gate and the hand-off call them.
    for (const signature of OPT_OUT_FUNCTIONS) await sql.raw(`grant execute on function ${HELPER_SCHEMA}.${signature} to ${APP_ROLE}`).execute(trx);
    await revokeApiRoles(trx);
    // Every table of ours, and graphile-worker's own, has row-level security on: without a policy the role sees nothing.
    const { rows: secured } = await sql<{ schema: string; table: string }>`
      select n.nspname as schema, c.relname as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind = 'r' and c.relrowsecurity and n.nspname in ('public', ${JOB_SCHEMA})
         and not exists (select 1 from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname and p.policyname = ${APP_ROLE})`.execute(trx);
    for (const { schema, table } of secured) {
      await sql`create policy ${role} on ${sql.id(schema, table)} to ${role} using (true) with check (true)`.execute(trx);
    }
  });
  return 'granted';
}

/** Takes from Supabase's API roles, where they exist, every right on our tables and on their id sequences. */
async function revokeApiRoles(db: Db) {
  const { rows } = await sql<{ rolname: string }>`select rolname from pg_roles where rolname = any(${API_ROLES})`.execute(db);
  if (rows.length === 0) return;
  const roles = rows.map((row) => `"${row.rolname}"`).join(', ');
  const tables = Object.keys(TABLE_PRIVILEGES);
  const { rows: sequences } = await sql<{ name: string }>`
    select s.oid::regclass::text as name from pg_class s
      join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = s.oid and d.refclassid = 'pg_class'::regclass
      join pg_class t on t.oid = d.refobjid
     where s.relkind = 'S' and t.relnamespace = 'public'::regnamespace and t.relname = any(${tables})`.execute(db);
  for (const table of tables) await sql.raw(`revoke all on "${table}" from ${roles}`).execute(db);
  for (const { name } of sequences) await sql.raw(`revoke all on ${name} from ${roles}`).execute(db);
}
