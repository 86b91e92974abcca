import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { ConversationEvent } from '../../machines/conversation/conversation.types.js';
import type { ApplyResult } from '../runtime/apply-event.js';
import type { Principal } from './auth.js';
import type { EventBody } from './schemas.js';

/**
 * Turns validated requests into machine events, and applied events into answers: the translation shared
 * by the native and legacy routes. What an event then does is a use case's (src/use-cases).
 */

/** Every event of the native route but an inbound text, which is a use case of its own (receiveSms). */
export function toMachineEvent(body: Exclude<EventBody, { type: 'sms.received' }>, principal: Principal): ConversationEvent {
  switch (body.type) {
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
