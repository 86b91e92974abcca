import { assign, cancel, raise } from 'xstate';
import { APPROVAL_SLA_TIMER, conversationSetup as s } from '../conversation.setup.js';
import type { ConversationContext } from '../conversation.types.js';
import { closeQueuedApproval, staffAndPaymentHandlers } from './shared.js';

type Decision = { approvalId: string; managerId: string; text?: string; reason?: string };


const decided = (status: 'approved' | 'modified' | 'escalated' | 'rejected') =>
  ({
    type: 'closeApproval',
    params: ({ context, event }: { context: ConversationContext; event: unknown }) => {
      const decision = event as Decision;
      const sends = status === 'approved' || status === 'modified';
      return {
        approvalId: decision.approvalId,
        status,
        reviewer: decision.managerId,
        finalText: sends ? (decision.text ?? context.draft!.text) : null,
        reason: sends ? null : (decision.reason ?? null),
      };
    },
  }) as const;

/** A draft waits for a manager. A timer re-notifies and then hands the conversation to a person; it never sends. */
export const pendingApproval = s.createStateConfig({
  entry: [
    assign({ approvalId: ({ context }) => context.draft!.id, slaLapses: 0 }),
    { type: 'openApproval', params: ({ context }) => ({ approvalId: context.draft!.id }) },
    {
      type: 'notifyManagers',
      params: ({ context }) => ({ approvalId: context.draft!.id, confidence: context.draft!.confidence, reminder: false }),
    },
    raise({ type: APPROVAL_SLA_TIMER }, { id: APPROVAL_SLA_TIMER, delay: 'approvalSla' }),
  ],
  exit: [cancel(APPROVAL_SLA_TIMER), assign({ approvalId: null })],
  on: {
    'review.approved': { guard: 'isCurrentApproval', target: 'sending', actions: ['sendAsDecided', decided('approved')] },
    'review.modified': { guard: 'isCurrentApproval', target: 'sending', actions: ['sendAsDecided', decided('modified')] },
    'review.escalated': { guard: 'isCurrentApproval', target: 'escalated', actions: ['escalateByManager', decided('escalated')] },
    // The draft is discarded and a person owns the conversation.
    'review.rejected': { guard: 'isCurrentApproval', target: 'escalated', actions: ['escalateByManager', decided('rejected')] },
    'timer.approval_sla': [
      {
        guard: 'isFirstSlaLapse',
        actions: [
          assign({ slaLapses: ({ context }) => context.slaLapses + 1 }),
          {
            type: 'notifyManagers',
            params: ({ context }) => ({ approvalId: context.approvalId!, confidence: context.draft!.confidence, reminder: true }),
          },
          raise({ type: APPROVAL_SLA_TIMER }, { id: APPROVAL_SLA_TIMER, delay: 'approvalSla' }),
        ],
      },
      {
        target: 'escalated',
        actions: [{ type: 'escalateFor', params: { reason: 'approval_sla' } }, closeQueuedApproval('expired', 'approval_sla')],
      },
    ],
    ...staffAndPaymentHandlers([closeQueuedApproval('withdrawn')]),
    // The debtor said more: the queued draft no longer answers everything; draft again.
    'sms.received': { target: 'drafting', actions: ['rememberInbound', closeQueuedApproval('superseded', 'newer inbound message')] },
  },
});
