import { sql, type Kysely } from 'kysely';

/**
 * Suppressions: an opt-out may also be added by a manager (a debtor who asked by phone or letter), so it
 * need not come from a conversation; it says who added it and why. Numbers stored before phone numbers
 * were normalised are rewritten to E.164 (digits; ten of them are a US number), so an opt-out typed
 * `(555) 000-3000` blocks `+15550003000`. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('opt_outs').alterColumn('conversation_id', (c) => c.dropNotNull()).execute();
  await db.schema.alterTable('opt_outs').addColumn('source', 'text', (c) => c.notNull().defaultTo('debtor')).execute();
  await db.schema.alterTable('opt_outs').addColumn('added_by', 'text').execute();
  await db.schema.alterTable('opt_outs').addColumn('reason', 'text').execute();
  await sql`
    insert into opt_outs (phone, conversation_id, opted_out_at, source)
    select '+' || case when length(d) = 10 then '1' || d else d end, conversation_id, opted_out_at, source
      from (select regexp_replace(phone, '[^0-9]', '', 'g') as d, * from opt_outs where phone !~ '^\\+[0-9]+$') raw
     where length(d) between 10 and 15
    on conflict (phone) do nothing`.execute(db);
  await sql`delete from opt_outs where phone !~ '^\\+[0-9]+$'`.execute(db);
}
