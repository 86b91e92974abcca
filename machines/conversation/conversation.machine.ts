import { conversationSetup } from './conversation.setup.js';
import { NOTHING_UNANSWERED } from './conversation.types.js';
import { staffAndPaymentHandlers } from './states/shared.js';
import { awaitingReply } from './states/awaiting-reply.state.js';
import { drafting } from './states/drafting.state.js';
import { pendingApproval } from './states/pending-approval.state.js';
import { sending, sent } from './states/sending.state.js';
import { negotiating } from './states/negotiating.state.js';
import { planAgreed } from './states/plan-agreed.state.js';
import { escalated } from './states/escalated.state.js';
import { failed } from './states/failed.state.js';
import { optedOut } from './states/opted-out.state.js';

export {
  APPROVAL_SLA_TIMER,
  NO_REPLY_TIMER,
  PLAN_DEADLINE_TIMER,
  PLAN_REMINDER_TIMER,
  createPlanDelays,
  createRoutingGuards,
  type AcknowledgementKind,
  type ActionParams,
  type ConversationActors,
  type DraftReplyInput,
  type NamedAction,
  type PlanNoticeKind,
  type SendSmsInput,
} from './conversation.setup.js';

/**
 * The `conversation` machine: one debtor's SMS thread (docs/machine.md), read as its state table. Each state
 * lives in states/; what they name (actions, guards, actors, delays) is declared in conversation.setup.ts.
 * Top-level names are the contract with the audit trail and the API; compound states add detail below them.
 */
export const conversationMachine = conversationSetup.createMachine({
  id: 'conversation',
  initial: 'idle',
  context: ({ input }) => ({
    ...input,
    unanswered: NOTHING_UNANSWERED,
    draft: null,
    outgoing: null,
    approvalId: null,
    slaLapses: 0,
    lastSent: null,
    sentCount: 0,
    paidCents: 0,
    paidSinceOffer: 0,
    escalation: null,
    offeredPlan: null,
    plan: null,
    identityVerified: false,
    disputed: false,
    identityHeld: 0,
    identityClaimed: false,
    closure: null,
    failure: null,
  }),
  on: {
    // An inbound SMS is legal everywhere; by default the debtor said more, so draft again with everything.
    'sms.received': { target: '.drafting', reenter: true, actions: 'rememberInbound' },
    // A manager confirmed who holds the number: account details may go to it from the next reply on.
    'identity.verified': { actions: 'verifyIdentity' },
    ...staffAndPaymentHandlers([]),
  },
  states: {
    /** Created; nobody has written yet. */
    idle: {},
    awaitingReply,
    drafting,
    pendingApproval,
    sending,
    sent,
    negotiating,
    planAgreed,
    escalated,
    failed,
    optedOut,
    closed: { type: 'final' },
  },
});

export type ConversationMachine = typeof conversationMachine;
/** Top-level state names: the contract (metrics labels, the `state` prefix of every stored path). */
export const CONVERSATION_STATES = Object.keys(conversationMachine.root.states);
