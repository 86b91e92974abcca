import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { ConversationEvent, Language } from '../../machines/conversation/conversation.types.js';
import type { Db } from '../db/database.js';
import { findApproval } from '../db/drafts.repository.js';
import { AppError, conflict, notFound } from '../errors.js';
import { checkOutgoingText, complianceViolation, type CompliancePolicy, type Violation } from '../policies/compliance.js';
import type { ApplyResult, Runtime } from '../runtime/apply-event.js';
import type { Principal } from './auth.js';
import type { EventBody } from './schemas.js';

/** Turns validated requests into machine events: the one translation shared by the native and legacy routes. */

export interface CommandDeps {
  db: Db;
  runtime: Runtime;
  compliance: CompliancePolicy;
  /** The service's clock (injectable in tests): when an inbound SMS arrived is the reply window's start. */
  clock: () => number;
}

export const actorOf = (principal: Principal) => `${principal.role}:${principal.subject}`;

export function toMachineEvent(body: EventBody, principal: Principal, idempotencyKey: string, now: number): ConversationEvent {
  switch (body.type) {
    case 'sms.received':
      return { type: 'sms.received', text: body.text, messageId: body.message_id ?? idempotencyKey, at: new Date(now).toISOString() };
    case 'payment.received':
      return { type: 'payment.received', amountCents: body.amount_cents, paidInFull: body.paid_in_full };
    case 'review.approved':
      return { type: 'review.approved', approvalId: body.approval_id, managerId: principal.subject, ...(body.text ? { text: body.text } : {}) };
    case 'review.modified':
      return { type: 'review.modified', approvalId: body.approval_id, managerId: principal.subject, text: body.text };
    case 'review.escalated':
      return { type: 'review.escalated', approvalId: body.approval_id, managerId: principal.subject, reason: body.reason };
    case 'review.rejected':
      return { type: 'review.rejected', approvalId: body.approval_id, managerId: principal.subject, reason: body.reason };
    case 'staff.escalate':
      return { type: 'staff.escalate', by: principal.subject, reason: body.reason, escalationType: body.escalation_type, severity: body.severity };
    case 'staff.resume':
      return { type: 'staff.resume', by: principal.subject };
    case 'staff.close':
      return { type: 'staff.close', by: principal.subject, reason: body.reason };
    case 'retry':
      return { type: 'retry', by: principal.subject };
    case 'identity.verified':
    case 'identity.rejected':
    case 'debt.verified':
      return { type: body.type, by: principal.subject };
  }
}

/** A manager's decision on an approval-queue item, as the machine takes it. */
export type ReviewEvent = Extract<ConversationEvent, { approvalId: string }>;

export const isReviewEvent = (event: ConversationEvent): event is ReviewEvent => 'approvalId' in event;

/**
 * Applies a manager's decision. Checks what the machine cannot know (does the item exist, is it still
 * pending, does the text that would go out pass compliance) and leaves the race to the row lock: of two
 * managers deciding at once, one applies and the other gets a 409.
 */
export async function decideApproval(
  deps: CommandDeps,
  principal: Principal,
  event: ReviewEvent,
  idempotencyKey: string,
  expectedConversationId?: string,
): Promise<ApplyResult> {
  const approval = await findApproval(deps.db, event.approvalId, principal.scope);
  if (!approval || (expectedConversationId && approval.conversation_id !== expectedConversationId)) {
    throw notFound(`approval ${event.approvalId}`);
  }
  const apply = () =>
    deps.runtime.apply({ conversationId: approval.conversation_id, event, idempotencyKey, actor: actorOf(principal), ifNotAccepted: 'reject' });

  // A retried request (same key) gets its first answer, though the item is no longer pending.
  if (await seenBefore(deps.db, approval.conversation_id, idempotencyKey)) return apply();
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
    const { violations } = await judgeManagerText(deps, approval.conversation_id, event.text ?? approval.text);
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

async function seenBefore(db: Db, conversationId: string, idempotencyKey: string) {
  const row = await db
    .selectFrom('inbox')
    .select('idempotency_key')
    .where('conversation_id', '=', conversationId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The compliance checks a manager's text must pass before it goes to this conversation's debtor, in the
 * debtor's language: what a decision enforces, and what the console shows while a manager types.
 */
export async function judgeManagerText(
  deps: Pick<CommandDeps, 'db' | 'compliance'>,
  conversationId: string,
  text: string,
): Promise<{ language: Language; violations: Violation[] }> {
  const language = await conversationLanguage(deps.db, conversationId);
  return { language, violations: checkOutgoingText(text, { language, policy: deps.compliance }) };
}

async function conversationLanguage(db: Db, conversationId: string): Promise<Language> {
  const row = await db.selectFrom('conversations').select('snapshot').where('id', '=', conversationId).executeTakeFirst();
  return row?.snapshot?.context.draft?.language ?? 'en';
}

export function newIdempotencyKey() {
  return `generated:${randomUUID()}`;
}

/** 202 for an event applied now, 200 with the first answer for a duplicate. */
export function sendApplied(res: Response, result: ApplyResult, extra: Record<string, unknown> = {}) {
  res.status(result.duplicate ? 200 : 202).json({
    conversation_id: result.conversationId,
    state: result.state,
    version: result.version,
    outcome: result.outcome,
    duplicate: result.duplicate,
    ...extra,
  });
}
