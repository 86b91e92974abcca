import { sql } from 'kysely';
import { normalisePhone } from '../text/phone.js';
import type { DbOrTrx } from './database.js';
import { withinScope, type TenantScope } from './tenant-scope.js';

/**
 * Opt-outs (suppressions) hold for a phone number across conversations and tenants, in E.164: the debtor's
 * own (the first conversation to record one owns it, and sends the one confirmation) or a manager's.
 */

/** E.164 when the number is one; as it is otherwise (a number stored before normalisation). */
export const optOutKey = (phone: string) => normalisePhone(phone) ?? phone;
const canonical = optOutKey;

export async function recordOptOut(db: DbOrTrx, phone: string, conversationId: string) {
  await db
    .insertInto('opt_outs')
    .values({ phone: canonical(phone), conversation_id: conversationId })
    .onConflict((oc) => oc.column('phone').doNothing())
    .execute();
}

export async function findOptOut(db: DbOrTrx, phone: string) {
  return db.selectFrom('opt_outs').select(['phone', 'conversation_id']).where('phone', '=', canonical(phone)).executeTakeFirst();
}

/** A manager's suppression; a number already suppressed keeps its first record. Returns whether it was new. */
export async function addSuppression(db: DbOrTrx, entry: { phone: string; addedBy: string; reason: string | null }) {
  const inserted = await db
    .insertInto('opt_outs')
    .values({ phone: canonical(entry.phone), conversation_id: null, source: 'manager', added_by: entry.addedBy, reason: entry.reason })
    .onConflict((oc) => oc.column('phone').doNothing())
    .returning('phone')
    .executeTakeFirst();
  return inserted !== undefined;
}

/**
 * Suppressed numbers, newest first. A scoped token sees those its tenants' conversations recorded; a
 * manager's suppression belongs to no conversation, so only an all-tenant token sees it.
 */
export async function listSuppressions(db: DbOrTrx, limit: number, scope: TenantScope) {
  const query = db
    .selectFrom('opt_outs')
    .select(['phone', 'conversation_id', 'source', 'added_by', 'reason', sql<Date>`opted_out_at`.as('since')])
    .orderBy('opted_out_at', 'desc')
    .orderBy('phone')
    .limit(limit);
  return withinScope(query, scope, 'opt_outs.conversation_id').execute();
}

/**
 * An explicit opt-in (START, UNSTOP) lifts the number's opt-out, whoever recorded it; returns whether there
 * was one. The lifting is a recorded compliance decision (the caller writes it).
 */
export async function liftOptOut(db: DbOrTrx, phone: string): Promise<boolean> {
  const removed = await db.deleteFrom('opt_outs').where('phone', '=', canonical(phone)).returning('phone').executeTakeFirst();
  return removed !== undefined;
}
