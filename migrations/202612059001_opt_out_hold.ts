import { sql, type Kysely } from 'kysely';

/**
 * The hand-off's last opt-out check, in the statement that holds the conversation and the number
 * (docs/architecture.md §4): one round trip less per text. The check must read after the number's lock is
 * held (a statement's snapshot is taken before it waits, so a check in the locking statement itself would miss an
 * opt-out that committed meanwhile); a VOLATILE function's own query reads with a snapshot of its own, taken
 * when it runs, after the lock. What "opted out" means and the number's lock key are defined here once, and the
 * service's statements call them (src/db/opt-outs.repository.ts). Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function orchestrator.opt_out_lock_key(phone text) returns bigint
    language sql immutable parallel safe
    as $$ select hashtextextended('opt-out:' || phone, 0) $$`.execute(db);
  // A tenant's opt-out, or one for every tenant (tenant_id null), holds the number.
  await sql`create function orchestrator.opted_out(tenant text, phone text) returns boolean
    language sql stable parallel safe
    as $$ select exists (select 1 from public.opt_outs o where o.phone = $2 and (o.tenant_id is null or o.tenant_id = $1)) $$`.execute(db);
  await sql`create function orchestrator.hold_number_then_opted_out(tenant text, phone text) returns boolean
    language plpgsql volatile
    as $$
    begin
      perform pg_advisory_xact_lock_shared(orchestrator.opt_out_lock_key(phone));
      return orchestrator.opted_out(tenant, phone);
    end
    $$`.execute(db);
  for (const signature of ['opt_out_lock_key(text)', 'opted_out(text, text)', 'hold_number_then_opted_out(text, text)']) {
    await sql.raw(`revoke all on function orchestrator.${signature} from public`).execute(db);
  }
}
