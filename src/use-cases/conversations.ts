import { findConversation } from '../db/conversations.repository.js';
import type { Db } from '../db/database.js';
import type { TenantScope } from '../db/tenant-scope.js';
import { notFound } from '../errors.js';

/** The conversation, if it exists and is in the scope; else 404 (the same answer for both). */
export async function loadConversation(db: Db, id: string, scope: TenantScope) {
  const row = await findConversation(db, id, scope);
  if (!row) throw notFound(`conversation ${id}`);
  return row;
}
