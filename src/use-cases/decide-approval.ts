import type { ConversationEvent, Language } from '../../machines/conversation/conversation.types.js';
import { findApproval, findLatestApprovalId } from '../db/drafts.repository.js';
import { wasApplied } from '../db/inbox.repository.js';
import type { TenantScope } from '../db/tenant-scope.js';
import type { Db } from '../db/database.js';
import { AppError, conflict, notFound } from '../errors.js';
import { checkOutgoingText, complianceViolation, type CompliancePolicy, type Violation } from '../policies/compliance.js';
import type { ApplyResult } from '../runtime/apply-event.js';
import { normalisePhone } from '../text/phone.js';
import { applyCommand } from './apply-command.js';
import type { Caller, UseCaseDeps } from './caller.js';
import { loadConversation } from './conversations.js';

/** A manager's decision on an approval-queue item, as the machine takes it. */
export type ReviewEvent = Extract<ConversationEvent, { approvalId: string }>;

export const isReviewEvent = (event: ConversationEvent): event is ReviewEvent => 'approvalId' in event;

/**
 * Applies a manager's decision. Checks what the machine cannot know (does the item exist, is it still
 * pending, does the text that would go out pass compliance) and leaves the race to the row lock: of two
 * managers deciding at once, one applies and the other gets a 409.
 */
export async function decideApproval(
  deps: UseCaseDeps,
  caller: Caller,
  event: ReviewEvent,
  idempotencyKey: string,
  expectedConversationId?: string,
): Promise<ApplyResult> {
  const approval = await findApproval(deps.db, event.approvalId, caller.scope);
  if (!approval || (expectedConversationId && approval.conversation_id !== expectedConversationId)) {
    throw notFound(`approval ${event.approvalId}`);
  }
  const apply = () => applyCommand(deps, caller, { conversationId: approval.conversation_id, event, idempotencyKey });

  // A retried request (same key) gets its first answer, though the item is no longer pending.
  if (await wasApplied(deps.db, approval.conversation_id, idempotencyKey)) return apply();
  if (approval.review_status !== 'pending') {
    // The debtor opted out while the draft waited: say so, not merely "decided".
    if (approval.state === 'optedOut') {
      throw conflict('opted_out', 'the debtor opted out while this draft waited; nothing will be sent', { status: approval.review_status });
    }
    throw conflict('already_decided', `approval ${event.approvalId} is already ${approval.review_status}`, {
      status: approval.review_status,
      reviewer: approval.reviewer,
    });
  }
  if (event.type === 'review.approved' || event.type === 'review.modified') {
    // What would go out: the manager's text, or the draft as it stands (a draft may be queued because it failed).
    const violations = judgeManagerText(deps.compliance, approval.draft_language ?? 'en', event.text ?? approval.text);
    if (violations.length > 0) throw complianceViolation(violations);
  }
  try {
    return await apply();
  } catch (error) {
    // Lost the race: between our read and the lock, another decision (or a newer SMS) moved the conversation.
    if (error instanceof AppError && error.code === 'event_not_allowed') {
      throw conflict('already_decided', `approval ${event.approvalId} is no longer pending`, error.details);
    }
    throw error;
  }
}

/**
 * The approval a caller names by conversation and the debtor's number (the dashboard's way): the
 * conversation's pending approval. The number must be the conversation's (both in E.164), else 409 and
 * nothing is decided. With nothing pending, the latest item is answered for, so that a retried decision gets
 * its first answer and a late one its `409 already_decided` (decideApproval).
 */
export async function approvalOfConversation(db: Db, conversationId: string, e164: string, scope: TenantScope): Promise<string> {
  const conversation = await loadConversation(db, conversationId, scope);
  if ((normalisePhone(conversation.phone) ?? conversation.phone) !== e164) {
    throw conflict('conversation_mismatch', `conversation ${conversationId} belongs to another phone number`);
  }
  const approvalId = await findLatestApprovalId(db, conversationId);
  if (approvalId === undefined) throw notFound(`an approval for conversation ${conversationId}`);
  return approvalId;
}

/**
 * The compliance checks a manager's text must pass before it goes to a debtor, in the debtor's language
 * (`draftLanguage`): what a decision enforces, and what the console shows while a manager types.
 */
export function judgeManagerText(compliance: CompliancePolicy, language: Language, text: string): Violation[] {
  return checkOutgoingText(text, { language, policy: compliance });
}

/** The language of a conversation's draft (every text to the debtor is written in it); English before the first draft. */
export function draftLanguage(snapshot: { context: { draft?: { language?: Language } | null } } | null | undefined): Language {
  return snapshot?.context.draft?.language ?? 'en';
}
