import type { Db } from '../db/database.js';
import { assertConversationInScope, type TenantScope } from '../db/tenant-scope.js';
import { AppError } from '../errors.js';
import type { ApplyResult } from '../runtime/apply-event.js';
import { actorOf, type Caller, type UseCaseDeps } from './caller.js';
import { honourConsentKeywords } from './consent-keywords.js';
import { loadConversation } from './conversations.js';

/** An inbound text, as any route that takes one hands it over (the caller's tenant and scope already checked). */
export interface InboundSms {
  /** The caller's id for the conversation, or the one a new default conversation gets. */
  conversationId: string;
  /** No id named by the caller: the text is for the tenant's default conversation of the number, whatever its id. */
  defaultConversation?: boolean;
  text: string;
  messageId: string;
  idempotencyKey: string;
  /** The tenant and number (E.164), when the caller gave them: a first text creates the conversation. */
  sender?: { tenantId: string; phone: string };
}

/**
 * Receives a debtor's text, the same for every route that takes one (the SMS Agent's call and the native
 * event): applied once per key (a text the conversation does not accept now is kept on record), then its
 * consent keywords (STOP, START) are honoured before the caller's answer, on a retry too. A tenant and number that are not
 * the conversation's are refused inside the write (409 `conversation_mismatch`).
 */
export async function receiveSms(deps: UseCaseDeps, caller: Caller, sms: InboundSms): Promise<ApplyResult> {
  const { conversationId, sender } = sms;
  const result = await withinScopeOnMismatch(deps.db, caller.scope, conversationId, () =>
    deps.runtime.apply({
      conversationId,
      event: { type: 'sms.received', text: sms.text, messageId: sms.messageId, at: new Date(deps.clock()).toISOString() },
      idempotencyKey: sms.idempotencyKey,
      actor: actorOf(caller),
      create: sender && { conversationId, tenantId: sender.tenantId, phone: sender.phone },
      defaultConversation: sms.defaultConversation,
      ifNotAccepted: 'record',
    }),
  );
  // The number is read only when the text is a keyword and the caller did not give it. A retry (a duplicate
  // answer: the first one was lost, perhaps before this step) is honoured again unless the debtor said otherwise since.
  const phone = sender?.phone ?? (async () => (await loadConversation(deps.db, result.conversationId, caller.scope)).phone);
  await honourConsentKeywords(deps.db, { conversationId: result.conversationId, phone, text: sms.text, ...(result.duplicate ? { retriedKey: sms.idempotencyKey } : {}) });
  return result;
}

/**
 * Runs an inbound text's apply(). apply() refuses a conversation of another tenant or number with 409
 * `conversation_mismatch`; a caller whose scope does not hold that conversation's tenant gets the 404 it gets
 * when the conversation existed before its request (docs/auth.md#scopes), so a race tells it nothing either.
 * Read only on a refusal: a conversation's tenant never changes.
 */
async function withinScopeOnMismatch<T>(db: Db, scope: TenantScope, conversationId: string, apply: () => Promise<T>): Promise<T> {
  try {
    return await apply();
  } catch (error) {
    if (error instanceof AppError && error.code === 'conversation_mismatch') await assertConversationInScope(db, scope, conversationId);
    throw error;
  }
}
