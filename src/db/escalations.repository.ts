import { sql } from 'kysely';
import type { DbOrTrx } from './database.js';
import { newestIdentityClaimSql, type IdentityClaimView } from './identity-claims.repository.js';
import { withinScope, type TenantScope } from './tenant-scope.js';

/** Escalations: a person owns the conversation from `opened_at` until `closed_at`. */

/** What a case says: the conversation's escalation as the machine holds it. */
type EscalationFields = { reason: string; note: string | null; severity?: string | null };

export async function openEscalation(db: DbOrTrx, conversationId: string, escalation: EscalationFields) {
  await db
    .insertInto('escalations')
    .values({ conversation_id: conversationId, reason: escalation.reason, note: escalation.note, severity: escalation.severity ?? null })
    .execute();
}

/** A repeat escalation: the open case takes the conversation's reason, note and severity; when it was opened stays. */
export async function updateOpenEscalation(db: DbOrTrx, conversationId: string, escalation: EscalationFields) {
  await db
    .updateTable('escalations')
    .set({ reason: escalation.reason, note: escalation.note, severity: escalation.severity ?? null })
    .where('conversation_id', '=', conversationId)
    .where('closed_at', 'is', null)
    .execute();
}

/** The case a person owns now, if any: what `POST /orchestrate/escalate` answers with. */
export async function findOpenEscalation(db: DbOrTrx, conversationId: string) {
  return db
    .selectFrom('escalations')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('closed_at', 'is', null)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/** Open escalations of the scope's tenants, oldest first (the managers' list), optionally of one reason. */
export async function listOpenEscalations(db: DbOrTrx, filter: { reason?: string; limit: number; scope: TenantScope }) {
  let query = db
    .selectFrom('escalations')
    .innerJoin('conversations', 'conversations.id', 'escalations.conversation_id')
    .select([
      'escalations.id',
      'escalations.conversation_id',
      'conversations.tenant_id',
      'escalations.reason',
      'escalations.note',
      'escalations.severity',
      'escalations.opened_at',
      // A verification task shows the name the number gave beside the names on record.
      sql<IdentityClaimView | null>`case when escalations.reason = 'identity_verification' then ${newestIdentityClaimSql(sql.ref('escalations.conversation_id'))} end`.as(
        'identity_claim',
      ),
    ])
    .where('escalations.closed_at', 'is', null)
    .orderBy('escalations.opened_at')
    .orderBy('escalations.id')
    .limit(filter.limit);
  if (filter.reason) query = query.where('escalations.reason', '=', filter.reason);
  return withinScope(query, filter.scope, 'escalations.conversation_id').execute();
}

export async function closeOpenEscalations(db: DbOrTrx, conversationId: string, resolution: string) {
  await db
    .updateTable('escalations')
    .set({ closed_at: sql`now()`, resolution })
    .where('conversation_id', '=', conversationId)
    .where('closed_at', 'is', null)
    .execute();
}
