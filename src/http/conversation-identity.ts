import { createHmac } from 'node:crypto';
import type { Db } from '../db/database.js';
import { assertConversationInScope, type TenantScope } from '../db/tenant-scope.js';
import { AppError } from '../errors.js';

/**
 * Conversation ids at the edge. The runtime's apply() (src/runtime/apply-event.ts) finds the tenant's default
 * conversation of a number whatever its id, and refuses a caller's id that names another tenant's or
 * number's conversation inside its write.
 */

/**
 * The id a new default conversation gets (the SMS Agent sent no conversation id): keyed by a secret, so
 * that the id cannot be brute-forced back to the phone number (there are only ~10^10 US numbers; an unkeyed
 * hash of them is reversed in minutes). Only a new conversation's: an existing one is found by tenant and
 * number, so another secret (a rotation, a replica configured differently) finds the same thread.
 */
export function derivedConversationId(secret: string, tenantId: string, e164: string) {
  return `conv-${createHmac('sha256', secret).update(`${tenantId}\n${e164}`).digest('hex').slice(0, 24)}`;
}

/**
 * Runs an inbound text's apply(). apply() refuses a conversation of another tenant or number with 409
 * `conversation_mismatch`; a caller whose scope does not hold that conversation's tenant gets the 404 it gets
 * when the conversation existed before its request (docs/auth.md#scopes), so a race tells it nothing either.
 * Read only on a refusal: a conversation's tenant never changes.
 */
export async function withinScopeOnMismatch<T>(db: Db, scope: TenantScope, conversationId: string, apply: () => Promise<T>): Promise<T> {
  try {
    return await apply();
  } catch (error) {
    if (error instanceof AppError && error.code === 'conversation_mismatch') await assertConversationInScope(db, scope, conversationId);
    throw error;
  }
}
