import { sql, type Kysely } from 'kysely';

/**
 * The managers' list of conversations (GET /v1/conversations): newest change first, by keyset on
 * (updated_at, id), filtered by top state, full state path or tenant. One index per way in, each in the
 * list's order, so the first page of 50 reads 50 index entries at any size. The (state, updated_at) index
 * of the initial migration becomes (state, updated_at desc, id desc): the same uses, plus the list's tiebreak.
 *
 * And `phone_reveals`: who unmasked a debtor's number in the console, and when; append-only like the audit
 * trail. Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index conversations_updated_idx on conversations (updated_at desc, id desc)`.execute(db);
  await sql`create index conversations_top_state_updated_idx on conversations (split_part(state, '.', 1), updated_at desc, id desc)`.execute(db);
  await sql`create index conversations_tenant_updated_idx on conversations (tenant_id, updated_at desc, id desc)`.execute(db);
  await sql`create index conversations_state_updated_idx on conversations (state, updated_at desc, id desc)`.execute(db);
  await sql`drop index conversations_state_idx`.execute(db);

  await db.schema
    .createTable('phone_reveals')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('phone_reveals_conversation_idx').on('phone_reveals').columns(['conversation_id', 'id']).execute();
  await sql`create trigger phone_reveals_append_only before update or delete on phone_reveals
    for each row execute function refuse_audit_change()`.execute(db);
  await sql`create trigger phone_reveals_no_truncate before truncate on phone_reveals
    for each statement execute function refuse_audit_change()`.execute(db);
  await sql`alter table phone_reveals enable row level security`.execute(db);
}
