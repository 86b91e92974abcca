import { createHash, createHmac } from 'node:crypto';
import type { Db } from '../db/database.js';
import { assertConversationInScope, type TenantScope } from '../db/tenant-scope.js';
import { AppError } from '../errors.js';

/**
 * Which conversation an inbound SMS without a conversation id belongs to. Reads only: the runtime's apply()
 * (src/runtime/apply-event.ts) writes, and refuses a caller's id that names another tenant's or number's
 * conversation inside that write.
 */

/**
 * When the SMS Agent sends no conversation id: stable per tenant and E.164 number, and keyed by a secret,
 * so that the id cannot be brute-forced back to the phone number (there are only ~10^10 US numbers; an
 * unkeyed hash of them is reversed in minutes).
 */
export function derivedConversationId(secret: string, tenantId: string, e164: string) {
  return `conv-${createHmac('sha256', secret).update(`${tenantId}\n${e164}`).digest('hex').slice(0, 24)}`;
}

/**
 * The ids the previous, unkeyed derivation gave (sha256 of `tenant|digits as typed`), for the forms an
 * E.164 number was typed in: conversations created before the change keep receiving their texts.
 */
export function legacyConversationIds(tenantId: string, e164: string): string[] {
  const typed = e164.startsWith('+1') ? [e164, e164.slice(1), e164.slice(2)] : [e164];
  return typed.map((digits) => `conv-${createHash('sha256').update(`${tenantId}|${digits}`).digest('hex').slice(0, 24)}`);
}

/**
 * The conversation of this tenant and number: the derived one, else one created under the old derivation, else
 * a new derived id. `exists` may vouch for the derived id without a read (the runtime remembers writing it).
 */
export async function conversationIdFor(db: Db, secret: string, tenantId: string, e164: string, exists: (id: string) => boolean = () => false): Promise<string> {
  const derived = derivedConversationId(secret, tenantId, e164);
  if (exists(derived)) return derived;
  const candidates = [derived, ...legacyConversationIds(tenantId, e164)];
  const rows = await db.selectFrom('conversations').select('id').where('tenant_id', '=', tenantId).where('id', 'in', candidates).execute();
  const found = new Set(rows.map((row) => row.id));
  return candidates.find((id) => found.has(id)) ?? derived;
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
