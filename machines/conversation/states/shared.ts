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

type Closing = ReadonlyArray<ReturnType<typeof closeQueuedApproval>>;

/**
 * A payment that settles everything closes the conversation, and the plan with it, and the debtor is told it is
 * settled. One that pays more than
 * what is left of the running plan completes the plan as well, but money is now owed back: a person takes
 * the conversation (`overpaid`, high) instead of it closing unnoticed.
 */
export const payOff = (closing: Closing = []) =>
  [
    {
      guard: 'overpaysPlan' as const,
      target: '#conversation.escalated',
      actions: [
        ...closing,
        'recordPayment' as const,
        'completePlan' as const,
        recordPlanProgress,
        { type: 'escalateFor' as const, params: { reason: 'overpaid' as const, severity: 'high' as const } },
      ],
    },
    {
      guard: 'paysOffPlan' as const,
      target: '#conversation.closed',
      actions: [...closing, 'recordPayment' as const, 'completePlan' as const, recordPlanProgress, acknowledge('settled')],
    },
  ] as const;

/**
 * Staff and payment events, legal in every state that is not final. A state that holds something open (a
 * queued approval) passes the actions that close it, so nothing is left pending behind it.
 */
export const staffAndPaymentHandlers = (closing: Closing) => ({
  'staff.escalate': { target: '#conversation.escalated', actions: [...closing, 'noteStaffEscalation' as const] },
  'staff.close': { target: '#conversation.closed', actions: [...closing, 'noteClosure' as const] },
  // A partial payment is recorded (an accepted event with no move); paid in full, or the plan paid off, closes.
  'payment.received': [...payOff(closing), { actions: ['recordPayment' as const, recordPlanProgress] }],
});

/** Silence after our last text: after `noReply` a person takes over. */
export const noReplyTimer = s.createStateConfig({
  entry: raise({ type: NO_REPLY_TIMER }, { id: NO_REPLY_TIMER, delay: 'noReply' }),
  exit: cancel(NO_REPLY_TIMER),
});
