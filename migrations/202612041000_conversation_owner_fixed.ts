import { sql, type Kysely } from 'kysely';

/**
 * A conversation belongs to one tenant and one number for its whole life. The runtime checks that an
 * inbound text naming a conversation is of its tenant and number on the row its write depends on
 * (src/runtime/apply-event.ts, assertSameDebtor), which is sound only while neither ever changes: this
 * trigger makes that a fact of the schema. It fires only on an UPDATE that names those columns, which
 * the service never issues, so events pay nothing for it. Frozen in time: never edit a migration that has shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function refuse_conversation_owner_change() returns trigger language plpgsql as $$
    begin
      raise exception 'a conversation''s tenant and phone number never change (conversation %)', old.id
        using errcode = 'integrity_constraint_violation';
    end $$`.execute(db);
  await sql`
    create trigger conversations_owner_fixed before update of tenant_id, phone on conversations
      for each row when (old.tenant_id is distinct from new.tenant_id or old.phone is distinct from new.phone)
      execute function refuse_conversation_owner_change()`.execute(db);
}
