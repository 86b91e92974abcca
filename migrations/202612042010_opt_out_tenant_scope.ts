import { sql, type Kysely } from 'kysely';

/**
 * Opt-outs and suppressions get a scope (docs/compliance.md, "Whose opt-out"): a debtor's STOP binds the
 * tenant whose conversation heard it, a manager's suppression the tenant named (or every tenant). One row per
 * (tenant, number, source), so a manager's suppression and the debtor's own opt-out of one number are apart
 * and a START lifts only the latter. Rows stored before keep `tenant_id` null, which reads as every tenant: an
 * opt-out that protected a number everywhere yesterday still does. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('opt_outs').addColumn('tenant_id', 'text').execute();
  await sql`alter table opt_outs drop constraint opt_outs_pkey`.execute(db);
  await sql`create unique index opt_outs_scope_key on opt_outs (tenant_id, phone, source) nulls not distinct`.execute(db);
  await sql`create index opt_outs_phone_idx on opt_outs (phone)`.execute(db);
}
