import { sql, type Kysely } from 'kysely';

/**
 * Agreed payment plans (docs/negotiation.md). Frozen in time: never edit a migration that has shipped.
 *
 * A plan row and its instalments are the current picture (status, what is paid); every status a plan
 * takes is appended to payment_plan_history, which refuses UPDATE, DELETE and TRUNCATE.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payment_plans')
    // The id of the draft whose "yes" agreed it.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'completed', 'broken', 'replaced', 'cancelled')`))
    .addColumn('frequency', 'text', (c) => c.notNull().check(sql`frequency in ('weekly', 'biweekly', 'semimonthly', 'monthly')`))
    .addColumn('instalment_cents', 'bigint', (c) => c.notNull().check(sql`instalment_cents > 0`))
    .addColumn('instalment_count', 'integer', (c) => c.notNull().check(sql`instalment_count > 0`))
    .addColumn('down_payment_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('total_cents', 'bigint', (c) => c.notNull().check(sql`total_cents > 0`))
    .addColumn('paid_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('missed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('agreed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('payment_plans_conversation_idx').on('payment_plans').columns(['conversation_id', 'agreed_at']).execute();
  await db.schema.createIndex('payment_plans_status_idx').on('payment_plans').columns(['status', 'agreed_at']).execute();

  await db.schema
    .createTable('plan_instalments')
    .addColumn('plan_id', 'text', (c) => c.notNull().references('payment_plans.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('due_on', 'date', (c) => c.notNull())
    .addColumn('amount_cents', 'bigint', (c) => c.notNull().check(sql`amount_cents > 0`))
    .addColumn('paid_cents', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('due', 'kept', 'missed')`))
    .addPrimaryKeyConstraint('plan_instalments_pk', ['plan_id', 'seq'])
    .execute();

  await db.schema
    .createTable('payment_plan_history')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('plan_id', 'text', (c) => c.notNull().references('payment_plans.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('paid_cents', 'bigint', (c) => c.notNull())
    .addColumn('missed', 'integer', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('payment_plan_history_plan_idx').on('payment_plan_history').columns(['plan_id', 'id']).execute();
  await sql`create trigger payment_plan_history_append_only before update or delete on payment_plan_history
    for each row execute function refuse_audit_change()`.execute(db);
  await sql`create trigger payment_plan_history_no_truncate before truncate on payment_plan_history
    for each statement execute function refuse_audit_change()`.execute(db);

  // As for every table: Supabase's anon/authenticated roles read nothing through its REST API.
  for (const table of ['payment_plans', 'plan_instalments', 'payment_plan_history']) {
    await sql`alter table ${sql.table(table)} enable row level security`.execute(db);
  }
}
