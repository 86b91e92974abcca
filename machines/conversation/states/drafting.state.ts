import { assign } from 'xstate';
import { conversationSetup as s, errorMessage } from '../conversation.setup.js';
import { humanOnlyIntent } from '../routing.js';

/** The drafter gathers context and proposes a reply; routing (routing.ts) decides where it goes. */
export const drafting = s.createStateConfig({
  invoke: {
    id: 'drafter',
    src: 'draftReply',
    input: ({ context }) => ({
      conversationId: context.conversationId,
      tenantId: context.tenantId,
      phone: context.phone,
      unansweredCount: context.unanswered.count,
      offeredPlan: context.offeredPlan,
      plan: context.plan?.status === 'active' ? context.plan : null,
      identityVerified: context.identityVerified,
      paidSinceOffer: context.paidSinceOffer,
    }),
    onDone: [
      { guard: { type: 'routesTo', params: { route: 'optOut' } }, target: 'optedOut', actions: 'takeDraft' },
      {
        guard: { type: 'routesTo', params: { route: 'escalate' } },
        target: 'escalated',
        actions: ['takeDraft', assign({ escalation: ({ event }) => ({ reason: humanOnlyIntent(event.output), note: null }) })],
      },
      {
        guard: { type: 'routesTo', params: { route: 'unrealistic' } },
        target: 'escalated',
        actions: ['takeDraft', { type: 'escalateFor', params: { reason: 'unrealistic_proposal' } }],
      },
      {
        guard: { type: 'routesTo', params: { route: 'lowConfidence' } },
        target: 'escalated',
        actions: ['takeDraft', { type: 'escalateFor', params: { reason: 'low_confidence' } }],
      },
      {
        // The debtor said yes to our offer: the plan is agreed now, stored, announced, and confirmed to them.
        guard: { type: 'routesTo', params: { route: 'agreePlan' } },
        target: 'sending',
        actions: [
          'takeDraft',
          'agreeDraftPlan',
          { type: 'recordPlan', params: ({ context }) => ({ plan: context.plan! }) },
          { type: 'notifyStaff', params: { kind: 'plan_agreed', reason: 'debtor confirmed' } },
          'sendDraftAsIs',
        ],
      },
      { guard: { type: 'routesTo', params: { route: 'autoSend' } }, target: 'sending', actions: ['takeDraft', 'sendDraftAsIs'] },
      { target: 'pendingApproval', actions: 'takeDraft' },
    ],
    onError: {
      target: 'failed',
      actions: assign({ failure: ({ event }) => ({ step: 'drafting' as const, message: errorMessage(event.error) }) }),
    },
  },
});
