import { createHmac } from 'node:crypto';

/**
 * Conversation ids at the edge. The runtime's apply() (src/runtime/apply-event.ts) finds the tenant's default
 * conversation of a number whatever its id, and refuses a caller's id that names another tenant's or
 * number's conversation inside its write (src/use-cases/receive-sms.ts).
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
