import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { DbOrTrx } from './database.js';
import { conversationIdsOfTenants, findConversationTenant } from './conversations.repository.js';
import { forbidden, notFound } from '../errors.js';

/**
 * Which tenants a token may see and act for, and the one place that applies it (docs/auth.md#scopes).
 * Every read or decision that touches a conversation goes through `withinScope` (lists) or
 * `assertConversationInScope` (one item): a conversation outside the scope is answered like one that
 * does not exist (404), so its id is never confirmed to a caller that may not see it.
 */
export type TenantScope = { readonly all: true } | { readonly all: false; readonly tenants: readonly string[] };

export const ALL_TENANTS: TenantScope = Object.freeze({ all: true });

export function tenantsScope(tenants: readonly string[]): TenantScope {
  return Object.freeze({ all: false, tenants: Object.freeze([...new Set(tenants)]) });
}

export function includesTenant(scope: TenantScope, tenantId: string): boolean {
  return scope.all || scope.tenants.includes(tenantId);
}

/**
 * Keeps the rows whose conversation is in scope. `conversationIdColumn` is any column holding a
 * conversation id (`conversations.id`, `drafts.conversation_id`, `o.conversation_id`), so every table
 * is filtered the same way; a row with no conversation (a manager's suppression) is outside any
 * tenant scope.
 */
export function withinScope<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  scope: TenantScope,
  conversationIdColumn: string,
): SelectQueryBuilder<DB, TB, O> {
  if (scope.all) return query;
  const inScope = sql<SqlBool>`${sql.ref(conversationIdColumn)} in ${conversationIdsOfTenants(scope.tenants)}`;
  return query.where(inScope);
}

/** A tenant the caller names itself (in a body): outside the scope is a 403, which confirms nothing the caller did not say. */
export function assertTenantInScope(scope: TenantScope, tenantId: string) {
  if (!includesTenant(scope, tenantId)) throw forbidden('forbidden_tenant', 'this token does not act for that tenant');
}

/**
 * A conversation named by id: one of a tenant outside the scope is a 404 like a missing one. One that does
 * not exist passes (the caller's own path answers for that: a 404, or the creation of a new one). A
 * conversation's tenant never changes, so the read may precede the write's lock.
 */
export async function assertConversationInScope(db: DbOrTrx, scope: TenantScope, conversationId: string) {
  if (scope.all) return;
  const tenantId = await findConversationTenant(db, conversationId);
  if (tenantId !== undefined && !includesTenant(scope, tenantId)) throw notFound(`conversation ${conversationId}`);
}
