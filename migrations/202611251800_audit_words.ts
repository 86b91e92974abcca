import { sql, type Kysely } from 'kysely';

/**
 * The audit trail covers the words (docs/audit.md). Frozen in time.
 *
 * - `transitions` rows carry a redacted summary of their event and the sha-256 of its words, both inside
 *   the hash chain (src/runtime/audit-chain.ts). Rows written before stay as they are (both null).
 * - `messages` (inbound texts, never updated) become append-only like `transitions`.
 * - `drafts` (queue columns updated by design) and `outbound_messages` (status updated by design) refuse
 *   any UPDATE that changes their words, and any DELETE or TRUNCATE: a draft's `text` and `raw_text`, a
 *   decided `final_text`, a message's `body`. Their other columns may change.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('transitions').addColumn('event_summary', 'jsonb').addColumn('words_digest', 'text').execute();

  await sql`create trigger messages_append_only before update or delete on messages
    for each row execute function refuse_audit_change()`.execute(db);
  await sql`create trigger messages_no_truncate before truncate on messages
    for each statement execute function refuse_audit_change()`.execute(db);

  await sql`
    create function refuse_words_change() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'UPDATE' then
        raise exception '% keeps its words (% refused)', tg_table_name, tg_op using errcode = 'insufficient_privilege';
      end if;
      if tg_table_name = 'drafts' then
        if new.text is distinct from old.text or new.raw_text is distinct from old.raw_text
           or (old.final_text is not null and new.final_text is distinct from old.final_text) then
          raise exception 'drafts keeps its words (text, raw_text and a decided final_text cannot change)'
            using errcode = 'insufficient_privilege';
        end if;
      elsif new.body is distinct from old.body then
        raise exception '% keeps its words (body cannot change)', tg_table_name using errcode = 'insufficient_privilege';
      end if;
      return new;
    end $$`.execute(db);
  for (const table of ['drafts', 'outbound_messages']) {
    await sql`create trigger ${sql.raw(`${table}_keep_words`)} before update or delete on ${sql.table(table)}
      for each row execute function refuse_words_change()`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function refuse_audit_change()`.execute(db);
  }
}
