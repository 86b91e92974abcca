import { createHash, createHmac } from 'node:crypto';
import type { Db } from '../db/database.js';
import { conflict } from '../errors.js';
import { normalisePhone } from '../text/phone.js';

/**
 * Which conversation an inbound SMS belongs to, and whether a conversation id a caller names really is
 * the thread of that tenant and phone. Reads only: the runtime's apply() (src/runtime/apply-event.ts)
 * locks and writes.
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
 * An existing conversation takes an SMS only from its own tenant and number: otherwise a caller naming
 * another tenant's conversation id would add text to that debtor's thread. 409, nothing written.
 *
 * Checked here with a read, before apply() locks the row: the race is harmless because the tenant and
 * phone of a conversation never change once it exists. Rows stored before numbers were normalised hold
 * the number as typed, so the stored one is normalised before comparing.
 */
export async function assertConversationMatches(db: Db, conversationId: string, tenantId: string, e164: string) {
  const row = await db.selectFrom('conversations').select(['tenant_id', 'phone']).where('id', '=', conversationId).executeTakeFirst();
  if (!row) return;
  const storedPhone = normalisePhone(row.phone) ?? row.phone;
  if (row.tenant_id !== tenantId || storedPhone !== e164) {
    // Neither the other tenant nor the other number is named: the caller may not know them.
    throw conflict('conversation_mismatch', `conversation ${conversationId} belongs to another tenant or phone number`);
  }
}
