import { sql, type RawBuilder } from 'kysely';
import { normalisePhone } from '../text/phone.js';
import { conversationIdsOfTenants, tenantOfConversation } from './conversations.repository.js';
import { preparedName, type DbOrTrx } from './database.js';
import type { TenantScope } from './tenant-scope.js';

/**
 * Opt-outs (suppressions), in E.164, each with a scope (docs/compliance.md, "Whose opt-out"): a debtor's own
 * binds the tenant whose conversation heard it (the first of that tenant's conversations to record one owns
 * it, and sends the one confirmation); a manager's binds the tenant named, or every tenant. A row without a
 * tenant holds for every tenant: a manager's all-tenant suppression, or an opt-out stored before opt-outs
 * had a tenant. A number is opted out for a tenant when any row of that tenant or of every tenant holds it.
 */

/** E.164 when the number is one; as it is otherwise (a number stored before normalisation). */
export const optOutKey = (phone: string) => normalisePhone(phone) ?? phone;
const canonical = optOutKey;

/** A tenant id, or the tenant of a conversation looked up in the same statement (callers often know only that). */
export type TenantRef = string | { conversationId: string };
/** Which of its two texts a statement over a TenantRef has: part of the name it is prepared under. */
export const tenantRefShape = (tenant: TenantRef) => (typeof tenant === 'string' ? 'tenant' : 'conversation');
/** A TenantRef as a SQL expression of the tenant's id. */
export const tenantIdSql = (tenant: TenantRef): RawBuilder<string> =>
  typeof tenant === 'string' ? sql<string>`${tenant}::text` : tenantOfConversation(tenant.conversationId);

/**
 * Whether an opt-out holds the number for the tenant (`tenant`: an expression of its id), as an expression to
 * read in a larger statement. What that means is defined once, in the database (`orchestrator.opted_out`,
 * migration 202612059001), so the hand-off's check after the number's lock (holdNumberThenOptedOutSql) reads
 * the same rule. `phone`: a number, or an expression of one already in its opt-out form (optOutKey).
 */
export const optedOutSql = (tenant: RawBuilder<string>, phone: string | RawBuilder<string>) =>
  sql<boolean>`orchestrator.opted_out(${tenant}, ${typeof phone === 'string' ? canonical(phone) : phone})`;

export async function isOptedOut(db: DbOrTrx, tenant: TenantRef, phone: string): Promise<boolean> {
  const { rows } = await sql<{ opted_out: boolean }>`select ${optedOutSql(tenantIdSql(tenant), phone)} as opted_out`.execute(db);
  return rows[0]!.opted_out;
}

/**
 * A hand-off to a number and a new opt-out of that number exclude each other (docs/architecture.md §4): the
 * hand-off holds the number's transaction lock shared from its last opt-out check until the SMS Agent has
 * answered; recording an opt-out takes it alone, so it commits (and is acknowledged) before that check or after
 * the text has left, never in between. The key is defined once, in the database (`orchestrator.opt_out_lock_key`).
 */
const numberLockKey = (phone: string) => sql`orchestrator.opt_out_lock_key(${canonical(phone)})`;

/**
 * Inside the hand-off's transaction: holds the number (waiting for any opt-out of it being recorded), then says
 * whether an opt-out holds it for `tenant` (a SQL expression of the tenant's id). The check is the database
 * function's own query, which reads after the lock is held: a check in the calling statement would read from
 * before its wait and miss an opt-out that committed meanwhile. An expression, for a statement that takes it
 * with another lock (the send's fence: event-store.ts). `phone`: a number, or an expression of one already in
 * its opt-out form (optOutKey).
 */
export const holdNumberThenOptedOutSql = (tenant: RawBuilder<string>, phone: string | RawBuilder<string>) =>
  sql<boolean>`orchestrator.hold_number_then_opted_out(${tenant}, ${typeof phone === 'string' ? canonical(phone) : phone})`;

/** The same as a statement of its own, for a hand-off without a fence (an acknowledgement, a plan notice). */
export async function holdNumberThenOptedOut(trx: DbOrTrx, tenant: TenantRef, phone: string): Promise<boolean> {
  const { rows } = await sql<{ opted_out: boolean }>`${preparedName(`hold_number_then_opted_out_by_${tenantRefShape(tenant)}`)}
    select ${holdNumberThenOptedOutSql(tenantIdSql(tenant), phone)} as opted_out`.execute(trx);
  return rows[0]!.opted_out;
}

/** The debtor's STOP, for the tenant of the conversation that heard it. */
export async function recordOptOut(db: DbOrTrx, phone: string, conversationId: string) {
  await sql`with held as (select pg_advisory_xact_lock(${numberLockKey(phone)}))
            insert into opt_outs (tenant_id, phone, conversation_id)
            select tenant_id, ${canonical(phone)}, id from conversations, held where id = ${conversationId}
            on conflict (tenant_id, phone, source) do nothing`.execute(db);
}

/** The debtor's own opt-out of the number in the conversation's tenant: which conversation recorded it. */
export async function findDebtorOptOut(db: DbOrTrx, conversationId: string, phone: string) {
  return db
    .selectFrom('opt_outs')
    .select(['phone', 'conversation_id'])
    .where('phone', '=', canonical(phone))
    .where('source', '=', 'debtor')
    .where(sql<boolean>`tenant_id = ${tenantIdSql({ conversationId })}`)
    .executeTakeFirst();
}

/**
 * A manager's suppression, for each tenant given, or for every tenant (`null`); a scope that already has one
 * keeps its first record. Returns whether any was new. Whether the number is opted out elsewhere plays no
 * part, so the answer tells a scoped manager nothing about other tenants.
 */
export async function addSuppression(db: DbOrTrx, entry: { phone: string; tenants: readonly string[] | null; addedBy: string; reason: string | null }) {
  const tenants = entry.tenants ?? [null];
  const { rows } = await sql<{ phone: string }>`
    with held as (select pg_advisory_xact_lock(${numberLockKey(entry.phone)}))
    insert into opt_outs (tenant_id, phone, conversation_id, source, added_by, reason)
    select tenant, ${canonical(entry.phone)}, null, 'manager', ${entry.addedBy}, ${entry.reason}
      from unnest(${tenants}::text[]) as tenant, held
    on conflict (tenant_id, phone, source) do nothing
    returning phone`.execute(db);
  return rows.length > 0;
}

/**
 * Suppressed numbers, newest first. A scoped token sees those of its tenants (and opt-outs stored before
 * opt-outs had a tenant, by the conversation that recorded them); a row for every tenant belongs to no
 * tenant, so only an all-tenant token sees it.
 */
export async function listSuppressions(db: DbOrTrx, limit: number, scope: TenantScope) {
  let query = db
    .selectFrom('opt_outs')
    .select(['phone', 'tenant_id', 'conversation_id', 'source', 'added_by', 'reason', sql<Date>`opted_out_at`.as('since')])
    .orderBy('opted_out_at', 'desc')
    .orderBy('phone')
    .limit(limit);
  if (!scope.all) {
    const tenants = [...scope.tenants];
    query = query.where(
      sql<boolean>`(tenant_id = any(${tenants}::text[])
        or (tenant_id is null and conversation_id in ${conversationIdsOfTenants(tenants)}))`,
    );
  }
  return query.execute();
}

/**
 * An explicit opt-in (START, UNSTOP) lifts the debtor's own opt-out of the number in the conversation's
 * tenant, and one stored before opt-outs had a tenant by a conversation of that tenant; never a manager's
 * suppression, nor another tenant's opt-out. Returns whether there was one. The lifting is a recorded
 * compliance decision (the caller writes it).
 */
export async function liftOptOut(db: DbOrTrx, conversationId: string, phone: string): Promise<boolean> {
  const tenant = tenantIdSql({ conversationId });
  const removed = await db
    .deleteFrom('opt_outs')
    .where('phone', '=', canonical(phone))
    .where('source', '=', 'debtor')
    .where(sql<boolean>`(tenant_id = ${tenant} or (tenant_id is null and conversation_id in (select c.id from conversations c where c.tenant_id = ${tenant})))`)
    .returning('phone')
    .executeTakeFirst();
  return removed !== undefined;
}
