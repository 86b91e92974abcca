import { sql, type Kysely } from 'kysely';

/**
 * A debtor's statement about inconvenient times binds the tenant it was made to (docs/compliance.md, "Whose
 * opt-out"): tenants are separate creditors, and tenant B's console must not show, nor its texts obey, what a
 * debtor told tenant A. Each row was written from a conversation, which names its tenant (conversations are
 * never deleted); a row whose conversation cannot be found stops the migration rather than be guessed at.
 * Frozen in time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table contact_preferences add column tenant_id text`.execute(db);
  await sql`update contact_preferences p set tenant_id = c.tenant_id from conversations c where c.id = p.conversation_id`.execute(db);
  await sql`do $$ begin
    if exists (select 1 from contact_preferences where tenant_id is null) then
      raise exception 'contact_preferences rows whose conversation is not in conversations: give each its tenant_id by hand, then start again';
    end if;
  end $$`.execute(db);
  await sql`alter table contact_preferences alter column tenant_id set not null`.execute(db);
  await sql`alter table contact_preferences drop constraint contact_preferences_pkey`.execute(db);
  await sql`alter table contact_preferences add primary key (tenant_id, phone)`.execute(db);
}
