import { cancel, raise } from 'xstate';
import { conversationSetup as s, NO_REPLY_TIMER, type AcknowledgementKind } from '../conversation.setup.js';
import type { ConversationContext } from '../conversation.types.js';

/** Transition fragments more than one state uses. */

/**
 * Closes the queued item without a manager (timer, newer message, staff). Exit actions run before a
 * transition's own, so the item is named by `draft.id`, which outlives `approvalId`.
 */
export const closeQueuedApproval = (status: 'expired' | 'superseded' | 'withdrawn', reason?: string) =>
  ({
    type: 'closeApproval',
    params: ({ context, event }: { context: ConversationContext; event: { type: string } }) => ({
      approvalId: context.draft!.id,
      status,
      reviewer: null,
      finalText: null,
      reason: reason ?? event.type,
    }),
  }) as const;

export const recordPlanProgress = {
  type: 'recordPlanProgress',
  params: ({ context }: { context: ConversationContext }) => ({ plan: context.plan }),
} as const;

/**
 * One short text composed by code (src/policies/acknowledgements.ts) where the debtor would otherwise hear
 * nothing. A reply answers their newest message (the reply window applies); a settlement or a rejected
 * number is a text we start.
 */
export const acknowledge = (kind: AcknowledgementKind) =>
  ({
    type: 'acknowledge',
    params: ({ context }: { context: ConversationContext }) => ({
      kind,
      tenantId: context.tenantId,
      phone: context.phone,
      inReplyTo: kind === 'settled' || kind === 'identity_rejected' ? null : context.unanswered.latestAt,
      identityVerified: context.identityVerified,
    }),
  }) as const;

/** A payment that settles everything closes the conversation, and the plan with it; the debtor is told it is settled. */
export const payOffAndClose = {
  target: '#conversation.closed',
  actions: ['recordPayment', 'completePlan', recordPlanProgress, acknowledge('settled')],
} as const;

/**
 * Staff and payment events, legal in every state that is not final. A state that holds something open (a
 * queued approval) passes the actions that close it, so nothing is left pending behind it.
 */
export const staffAndPaymentHandlers = (closing: ReadonlyArray<ReturnType<typeof closeQueuedApproval>>) => ({
  'staff.escalate': { target: '#conversation.escalated', actions: [...closing, 'noteStaffEscalation' as const] },
  'staff.close': { target: '#conversation.closed', actions: [...closing, 'noteClosure' as const] },
  // A partial payment is recorded (an accepted event with no move); paid in full, or the plan paid off, closes.
  'payment.received': [
    { ...payOffAndClose, guard: 'paysOffPlan' as const, actions: [...closing, ...payOffAndClose.actions] },
    { actions: ['recordPayment' as const, recordPlanProgress] },
  ],
});

/** Silence after our last text: after `noReply` a person takes over. */
export const noReplyTimer = s.createStateConfig({
  entry: raise({ type: NO_REPLY_TIMER }, { id: NO_REPLY_TIMER, delay: 'noReply' }),
  exit: cancel(NO_REPLY_TIMER),
});
