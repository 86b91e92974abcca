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

/** A derived id (the HMAC, or the first releases' sha256), and an E.164 number. */
const DERIVED_ID = '^conv-[0-9a-f]{24}$';
const E164 = '^\\+[1-9][0-9]{6,14}$';

/**
 * Marks each (tenant, number)'s oldest conversation with a derived id as its default, where the pair has
 * none yet; returns how many it marked. Numbers are compared in E.164: those stored as typed (before numbers
 * were normalised; few, and only old rows) are normalised here, the rest are already. Idempotent: tests run
 * it on rows they made the way releases before this one did.
 */
export async function adoptDefaultConversations(db: Kysely<any>): Promise<number> {
  const { rows: typed } = await sql<{ id: string; phone: string }>`
    select id, phone from conversations
     where default_for_phone is null and id ~ ${DERIVED_ID} and phone !~ ${E164}`.execute(db);
  // A number that is not one (stored before numbers were checked) can get no text without an id any more.
  const normalised = typed.flatMap((row) => {
    const e164 = normalisePhone(row.phone);
    return e164 === null ? [] : [{ id: row.id, e164 }];
  });
  const result = await sql`
    update conversations c set default_for_phone = pick.e164
      from (select distinct on (tenant_id, e164) id, tenant_id, e164
              from (select c2.id, c2.tenant_id, c2.created_at, coalesce(t.e164, c2.phone) as e164
                      from conversations c2
                      left join unnest(${normalised.map((row) => row.id)}::text[], ${normalised.map((row) => row.e164)}::text[]) as t(id, e164) on t.id = c2.id
                     where c2.default_for_phone is null and c2.id ~ ${DERIVED_ID}) as candidates
             where e164 ~ ${E164}
             order by tenant_id, e164, created_at, id) as pick
     where c.id = pick.id
       and not exists (select 1 from conversations d where d.tenant_id = pick.tenant_id and d.default_for_phone = pick.e164)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
