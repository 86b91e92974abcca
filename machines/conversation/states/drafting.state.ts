import { assign } from 'xstate';
import { conversationSetup as s, errorMessage } from '../conversation.setup.js';
import { humanOnlyIntent } from '../routing.js';
import { acknowledge } from './shared.js';

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
      identityAsked: context.identityHeld > 0,
    }),
    onDone: [
      { guard: { type: 'routesTo', params: { route: 'optOut' } }, target: 'optedOut', actions: 'takeDraft' },
      {
        // Collection stops until a manager verifies the debt; the one text that may follow says so, with no amount.
        guard: 'disputesTheDebt',
        target: 'escalated',
        actions: ['takeDraft', 'noteDispute', { type: 'escalateFor', params: { reason: 'dispute' } }, acknowledge('dispute'), 'answeredByAcknowledgement'],
      },
      {
        // An attorney, a cease request, a bankruptcy…: a person answers, nothing automated is said.
        guard: { type: 'routesTo', params: { route: 'escalate' } },
        target: 'escalated',
        actions: ['takeDraft', 'noteDispute', assign({ escalation: ({ event }) => ({ reason: humanOnlyIntent(event.output), note: null }) })],
      },
      {
        // The number answered the identity question: a manager verifies the name; the debtor is told once.
        guard: { type: 'routesTo', params: { route: 'verifyIdentity' } },
        target: 'escalated',
        actions: ['takeDraft', 'claimIdentity', { type: 'escalateFor', params: { reason: 'identity_verification' } }, acknowledge('identity_claimed')],
      },
      {
        guard: { type: 'routesTo', params: { route: 'unrealistic' } },
        target: 'escalated',
        actions: ['takeDraft', { type: 'escalateFor', params: { reason: 'unrealistic_proposal' } }, acknowledge('plan_review'), 'answeredByAcknowledgement'],
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
