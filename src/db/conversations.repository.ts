import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { DbOrTrx } from './database.js';
import type { Database } from './schema.js';
import type { TenantScope } from './tenant-scope.js';

/**
 * Every statement on `conversations` outside the runtime's write (src/runtime/apply-event.ts, which owns
 * creating and advancing a conversation): one conversation read by id, the scope's subquery, the managers'
 * list, the dashboard's counts by state, the audit chain's heads.
 */

/** A conversation's row, if it exists and its tenant is in the scope (a plain comparison on the row's own tenant). */
export async function findConversation(db: DbOrTrx, id: string, scope: TenantScope) {
  return tenantColumnWithinScope(db.selectFrom('conversations').selectAll().where('id', '=', id), scope, 'conversations.tenant_id').executeTakeFirst();
}

export type ConversationRow = NonNullable<Awaited<ReturnType<typeof findConversation>>>;

/** The tenant of a conversation, whatever the scope; undefined when there is no such conversation. */
export async function findConversationTenant(db: DbOrTrx, id: string): Promise<string | undefined> {
  const row = await db.selectFrom('conversations').select('tenant_id').where('id', '=', id).executeTakeFirst();
  return row?.tenant_id;
}

/** The tenant of a conversation, as a subquery read in a larger statement (callers often know only the conversation). */
export function tenantOfConversation(conversationId: string) {
  return sql<string>`(select tenant_id from conversations where id = ${conversationId})`;
}

/** A conversation's stored snapshot (state value and context), or undefined. */
export async function findConversationSnapshot(db: DbOrTrx, id: string) {
  const row = await db.selectFrom('conversations').select('snapshot').where('id', '=', id).executeTakeFirst();
  return row?.snapshot;
}

/** The ids of the tenants' conversations, as a subquery: how a table that holds a conversation id is scoped (tenant-scope.ts). */
export function conversationIdsOfTenants(tenants: readonly string[]) {
  return sql<string>`(select c.id from conversations c where c.tenant_id = any(${[...tenants]}::text[]))`;
}

/** Each conversation's audit-chain head, by id (all of them, or those named): what the chain's verification starts from. */
export async function listAuditHeads(db: DbOrTrx, ids: readonly string[] = []) {
  let query = db.selectFrom('conversations').select(['id', 'audit_seq', 'audit_hash']).orderBy('id');
  if (ids.length > 0) query = query.where('id', 'in', [...ids]);
  return query.execute();
}

/** How many of the scope's conversations are in each top-level state (the dashboard's `conversations_by_state`). */
export async function countConversationsByTopState(db: DbOrTrx, scope: TenantScope) {
  const query = db.selectFrom('conversations').select([sql<string>`split_part(state, '.', 1)`.as('state'), sql<number>`count(*)::int`.as('count')]);
  return tenantColumnWithinScope(query, scope, 'conversations.tenant_id').groupBy(sql`1`).execute();
}

/** The scope on a query that has the tenant id itself (the conversations table): a plain, indexable comparison. */
function tenantColumnWithinScope<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  scope: TenantScope,
  tenantIdColumn: string,
): SelectQueryBuilder<DB, TB, O> {
  if (scope.all) return query;
  return query.where(sql<SqlBool>`${sql.ref(tenantIdColumn)} = any(${[...scope.tenants]}::text[])`);
}

/**
 * The managers' list of conversations (GET /v1/conversations), newest change first. Keyset pagination on
 * (updated_at, id): a page costs the same at any depth, and a conversation that changes while a manager
 * pages moves to the top instead of shifting every later page. Each filter has an index in the list's order
 * (migrations/202612047001_conversation_list.ts), so the first page of 50 reads about 50 index entries.
 */

/** Shortcuts a manager asks for, each a set of states (so the state indexes serve them). */
export const CONVERSATION_FLAGS = {
  /** A person owns it. */
  escalated: { topStates: ['escalated'] },
  /** A draft waits for a manager. */
  awaiting_approval: { topStates: ['pendingApproval'] },
  /** A payment plan runs: agreed, or in arrears while we negotiate the missed instalment. */
  in_plan: { topStates: ['planAgreed'], states: ['negotiating.missedPayment'] },
} as const satisfies Record<string, { topStates: readonly string[]; states?: readonly string[] }>;

export type ConversationFlag = keyof typeof CONVERSATION_FLAGS;

export interface ConversationFilter {
  /** A top state (`negotiating`) or a full path (`negotiating.awaitingConfirmation`). */
  state?: string;
  tenantId?: string;
  /** Part of the tenant id, any case. */
  tenantMatch?: string;
  updatedSince?: Date;
  flags?: readonly ConversationFlag[];
  scope: TenantScope;
}

/** Where the previous page ended: its last row's `updated_at` (as Postgres wrote it, to the microsecond) and id. */
export interface ConversationCursor {
  updatedAt: string;
  id: string;
}

type Where = ExpressionBuilder<Database, 'conversations'>;

const topState = sql<string>`split_part(conversations.state, '.', 1)`;

/** The filter as one condition: each part indexed or narrowed by the order's index. */
function matching(filter: ConversationFilter) {
  return (eb: Where): Expression<SqlBool> => {
    const parts: Expression<SqlBool>[] = [];
    if (filter.state !== undefined) {
      parts.push(filter.state.includes('.') ? eb('conversations.state', '=', filter.state) : eb(topState, '=', filter.state));
    }
    if (filter.tenantId !== undefined) parts.push(eb('conversations.tenant_id', '=', filter.tenantId));
    if (filter.tenantMatch !== undefined) parts.push(eb('conversations.tenant_id', 'ilike', `%${escapeLike(filter.tenantMatch)}%`));
    if (filter.updatedSince !== undefined) parts.push(eb('conversations.updated_at', '>=', filter.updatedSince));
    for (const flag of filter.flags ?? []) {
      const { topStates, states = [] } = CONVERSATION_FLAGS[flag] as { topStates: readonly string[]; states?: readonly string[] };
      const either = [eb(topState, 'in', [...topStates]), ...(states.length > 0 ? [eb('conversations.state', 'in', [...states])] : [])];
      parts.push(eb.or(either));
    }
    return eb.and(parts);
  };
}

/** `%` and `_` typed by a manager are letters, not wildcards. */
function escapeLike(text: string) {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One page, newest change first; `limit + 1` rows are read so the caller knows whether another page follows. */
export async function listConversations(db: DbOrTrx, filter: ConversationFilter, page: { limit: number; after?: ConversationCursor }) {
  let query = db
    .selectFrom('conversations')
    .select([
      'conversations.id',
      'conversations.tenant_id',
      'conversations.phone',
      'conversations.state',
      'conversations.version',
      'conversations.created_at',
      'conversations.updated_at',
      sql<string>`conversations.updated_at::text`.as('updated_at_key'),
      sql<number | null>`(conversations.snapshot->'context'->'draft'->>'confidence')::float8`.as('draft_confidence'),
      sql<string | null>`conversations.snapshot->'context'->'escalation'->>'reason'`.as('escalation_reason'),
    ])
    .where(matching(filter))
    .orderBy('conversations.updated_at', 'desc')
    .orderBy('conversations.id', 'desc')
    .limit(page.limit + 1);
  if (page.after) {
    const { updatedAt, id } = page.after;
    query = query.where(sql<SqlBool>`(conversations.updated_at, conversations.id) < (${updatedAt}::timestamptz, ${id})`);
  }
  const rows = await tenantColumnWithinScope(query, filter.scope, 'conversations.tenant_id').execute();
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  const last = items.at(-1);
  return { items, next: more && last ? { updatedAt: last.updated_at_key, id: last.id } : null };
}

/** How many conversations are in each full state, under every filter but the state (the list's tabs). */
export async function countConversationsByState(db: DbOrTrx, filter: ConversationFilter): Promise<Record<string, number>> {
  const query = db
    .selectFrom('conversations')
    .select(['conversations.state', sql<string>`count(*)`.as('n')])
    .where(matching({ ...filter, state: undefined }))
    .groupBy('conversations.state');
  const rows = await tenantColumnWithinScope(query, filter.scope, 'conversations.tenant_id').execute();
  return Object.fromEntries(rows.sort((a, b) => a.state.localeCompare(b.state)).map((row) => [row.state, Number(row.n)]));
}

/** Records that `actor` was shown the number of a conversation (the console masks numbers until asked). */
export async function recordPhoneReveal(db: DbOrTrx, conversationId: string, actor: string) {
  return db.insertInto('phone_reveals').values({ conversation_id: conversationId, actor }).returning(['at']).executeTakeFirstOrThrow();
}
