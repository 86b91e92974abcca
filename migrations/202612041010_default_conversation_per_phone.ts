import { sql, type Kysely } from 'kysely';
import { normalisePhone } from '../src/text/phone.js';

/**
 * A text the SMS Agent sends without a conversation id belongs to the tenant's *default* conversation for
 * the number. It was found by recomputing its id (an HMAC under CONVERSATION_ID_SECRET), so a process with
 * another secret (a rotation, or one replica configured differently) created a second conversation and
 * texted the debtor again. Now the row says it is that conversation: `default_for_phone` holds the E.164
 * number (null for conversations a caller named), unique per tenant, and the runtime finds the conversation
 * by (tenant, number) whatever its id (docs/architecture.md §2, "Which conversation").
 *
 * Existing rows: a default conversation has a derived id, `conv-` and 24 hex digits (the HMAC, or the older
 * unkeyed sha256), and a phone that may be stored as typed. Where the rotation bug made two or more for
 * one tenant and number, the oldest becomes the default and the others stay as they are, reachable by
 * their ids (so the index is partial, and the migration cannot fail on them). Frozen in time: never edit a
 * migration that has shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table conversations add column default_for_phone text`.execute(db);
  await adoptDefaultConversations(db);
  await sql`create unique index conversations_default_per_phone on conversations (tenant_id, default_for_phone)
              where default_for_phone is not null`.execute(db);
}

/** Rows adopted per statement. */
const BATCH = 1_000;

/**
 * Marks each (tenant, number)'s oldest conversation with a derived id as its default, where the pair has
 * none yet. Idempotent: tests run it on rows they made the way releases before this one did.
 */
export async function adoptDefaultConversations(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ id: string; tenant_id: string; phone: string }>`
    select id, tenant_id, phone from conversations c
     where default_for_phone is null and id ~ '^conv-[0-9a-f]{24}$'
     order by created_at, id`.execute(db);
  const { rows: taken } = await sql<{ tenant_id: string; default_for_phone: string }>`
    select tenant_id, default_for_phone from conversations where default_for_phone is not null`.execute(db);
  const seen = new Set(taken.map((row) => `${row.tenant_id}\n${row.default_for_phone}`));
  const adopted: Array<{ id: string; phone: string }> = [];
  for (const row of rows) {
    const phone = normalisePhone(row.phone);
    // A number that is not one (stored before numbers were checked) can get no text without an id any more.
    if (phone === null || seen.has(`${row.tenant_id}\n${phone}`)) continue;
    seen.add(`${row.tenant_id}\n${phone}`);
    adopted.push({ id: row.id, phone });
  }
  for (let start = 0; start < adopted.length; start += BATCH) {
    const batch = adopted.slice(start, start + BATCH);
    await sql`update conversations c set default_for_phone = v.phone
                from unnest(${batch.map((row) => row.id)}::text[], ${batch.map((row) => row.phone)}::text[]) as v(id, phone)
               where c.id = v.id`.execute(db);
  }
  return adopted.length;
}
