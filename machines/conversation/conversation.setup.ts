import { assign, fromPromise, setup } from 'xstate';
import type {
  AgreedPlan,
  ConversationContext,
  ConversationEvent,
  ConversationInput,
  Draft,
  EscalationReason,
  EscalationSeverity,
  Language,
  SendResult,
} from './conversation.types.js';
import { NOTHING_UNANSWERED } from './conversation.types.js';
import { isOptOutRequest } from './opt-out.js';
import type { PaymentPlan } from './plan.types.js';
import {
  agreePlan,
  applyPayment,
  deadlineAt,
  isInArrears,
  markMissed,
  markReminded,
  reminderAt,
  remainingCents,
} from './plan-ledger.js';
import { DEFAULT_ROUTING, disputesTheDebt, routeDraft, type Route, type RoutingPolicy } from './routing.js';

/**
 * Everything the `conversation` machine names: its types, actors, actions, guards and delays. The state
 * table (conversation.machine.ts and states/) refers to these by name only.
 *
 * Named effects are placeholders: the durable runtime (src/runtime) never runs them in-process. Invokes and
 * delayed events become jobs; named actions become in-transaction projections or effect jobs
 * (src/runtime/projections.ts). `machine.provide()` swaps guards and delays at the edge.
 */

export interface DraftReplyInput {
  conversationId: string;
  tenantId: string;
  phone: string;
  /** How many of the debtor's newest messages the reply answers; the activity reads their texts from the messages table. */
  unansweredCount: number;
  /** What our last text offered, so that a "yes" is read as a yes to it. */
  offeredPlan: PaymentPlan | null;
  /** The plan that runs now, if any: the reply is written with it in mind. */
  plan: AgreedPlan | null;
  /** A manager confirmed who holds this number (see `identity.verified`). */
  identityVerified?: boolean;
  /** Paid since the offered plan was drafted: a yes credits it to the plan, and the confirmation says so. */
  paidSinceOffer?: number;
  /** Our last text to this unconfirmed number asked who they are: their answer is a claim to verify. */
  identityAsked?: boolean;
}

export interface SendSmsInput {
  conversationId: string;
  phone: string;
  text: string;
  language: Language;
  timeZone?: string | null;
  /** See `outgoing.inReplyTo`. */
  inReplyTo?: string | null;
  /** Names the message across retries (see `outgoing.key`). */
  messageKey: string;
}

export type PlanNoticeKind = 'reminder' | 'missed';

/**
 * A short text composed by code where the debtor would otherwise hear nothing: a dispute acknowledged, an
 * offer passed to a person, the account settled, an identity claim received, a number rejected as not the
 * debtor's. None carries an amount; each goes through the send-time gate like every text.
 */
export type AcknowledgementKind = 'dispute' | 'plan_review' | 'settled' | 'identity_claimed' | 'identity_rejected';

/** Params of every named action that is not an assignment: what the runtime's executors receive. */
export interface ActionParams {
  openApproval: { approvalId: string };
  closeApproval: {
    approvalId: string;
    status: 'approved' | 'modified' | 'escalated' | 'rejected' | 'superseded' | 'expired' | 'withdrawn';
    reviewer: string | null;
    finalText: string | null;
    reason: string | null;
  };
  notifyManagers: { approvalId: string; confidence: number; reminder: boolean };
  openEscalation: { reason: EscalationReason; note: string | null; severity?: EscalationSeverity | null };
  /** A repeat escalation of an escalated conversation: its open case now says what the conversation says. */
  updateEscalation: ActionParams['openEscalation'];
  closeEscalation: { resolution: 'resumed' | 'closed' | 'other' };
  recordOptOut: { phone: string };
  notifyStaff: {
    kind: 'escalated' | 'inbound_while_escalated' | 'failed' | 'plan_agreed' | 'instalment_missed';
    reason: string;
  };
  sendOptOutConfirmation: { phone: string; language: Language };
  /** A newly agreed plan: stored with its schedule; an earlier active plan of the conversation is replaced. */
  recordPlan: { plan: AgreedPlan };
  /** The plan's instalments and status as they stand after a payment, a miss or the end of the plan. */
  recordPlanProgress: { plan: AgreedPlan | null };
  /** A text composed by code about the plan: a reminder before a due date, or the news of a missed one. */
  sendPlanNotice: { kind: PlanNoticeKind; phone: string; language: Language; plan: AgreedPlan };
  /** `inReplyTo`: the debtor's message it answers (a reply), or null for a text we start (unsolicited). */
  acknowledge: { kind: AcknowledgementKind; tenantId: string; phone: string; inReplyTo: string | null; identityVerified: boolean };
}
export type NamedAction = keyof ActionParams;

const notProvided = (name: string) => () => {
  throw new Error(`${name} is provided at the edge with machine.provide()`);
};
/** A named effect: the runtime turns it into a projection or a job; nothing runs in the machine. */
const effect =
  <K extends NamedAction>() =>
  (_: unknown, _params: ActionParams[K]) => {};

export function createRoutingGuards(policy: RoutingPolicy) {
  return {
    routesTo: ({ event }: { event: object }, params: { route: Route }) =>
      'output' in event && routeDraft(event.output as Draft, policy) === params.route,
  };
}

/**
 * Delays of the plan's timers: from now until an instant computed at the edge in the debtor's time zone
 * (src/negotiation). `now` is injectable so tests and the runtime share one clock.
 */
export function createPlanDelays(now: () => number) {
  const until = (instant: string | null) => (instant === null ? 0 : Math.max(0, Date.parse(instant) - now()));
  return {
    planReminder: ({ context }: { context: ConversationContext }) =>
      context.plan ? until(reminderAt(context.plan) ?? deadlineAt(context.plan)) : 0,
    planDeadline: ({ context }: { context: ConversationContext }) => (context.plan ? until(deadlineAt(context.plan)) : 0),
    sendWindow: ({ context }: { context: ConversationContext }) => until(context.outgoing?.deferredUntil ?? null),
  };
}

/** The invoked actors, by `src`. Their input and output types are what the activities implement (src/effects). */
const actors = {
  draftReply: fromPromise<Draft, DraftReplyInput>(notProvided('draftReply')),
  sendSms: fromPromise<SendResult, SendSmsInput>(notProvided('sendSms')),
};
export type ConversationActors = typeof actors;

/** A text that only asked who holds the number answers none of the debtor's questions: they wait for verification. */
const heldForIdentity = ({ context }: { context: ConversationContext }) =>
  context.draft?.identity === 'ask' ? context.identityHeld + context.unanswered.count : context.identityHeld;

/** When the newest message still unanswered arrived (what a reply answers), if any. */
const latestInbound = (context: ConversationContext) => context.unanswered.latestAt;

const activePlan = (context: ConversationContext) => (context.plan?.status === 'active' ? context.plan : null);
const paymentOf = (event: ConversationEvent) => (event.type === 'payment.received' ? event : null);

export const conversationSetup = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as ConversationInput,
  },
  actors,
  actions: {
    openApproval: effect<'openApproval'>(),
    closeApproval: effect<'closeApproval'>(),
    notifyManagers: effect<'notifyManagers'>(),
    openEscalation: effect<'openEscalation'>(),
    updateEscalation: effect<'updateEscalation'>(),
    closeEscalation: effect<'closeEscalation'>(),
    recordOptOut: effect<'recordOptOut'>(),
    notifyStaff: effect<'notifyStaff'>(),
    sendOptOutConfirmation: effect<'sendOptOutConfirmation'>(),
    recordPlan: effect<'recordPlan'>(),
    recordPlanProgress: effect<'recordPlanProgress'>(),
    sendPlanNotice: effect<'sendPlanNotice'>(),
    acknowledge: effect<'acknowledge'>(),

    /** The debtor said something: count it until a reply that answers it goes out (its text is in the messages table). */
    rememberInbound: assign({
      unanswered: ({ context, event }) =>
        event.type === 'sms.received' ? { count: context.unanswered.count + 1, latestAt: event.at } : context.unanswered,
    }),
    takeDraft: assign({
      draft: ({ event }) => ('output' in event ? (event.output as Draft) : null),
      // A fresh offer was built on the balance as it stood when it was drafted: payments count from here.
      paidSinceOffer: ({ context, event }) =>
        'output' in event && (event.output as Draft).negotiation?.kind === 'offer' ? 0 : context.paidSinceOffer,
    }),
    /** The fresh draft goes out as it is: its text, and the plan it offers if it offers one. */
    sendDraftAsIs: assign({
      outgoing: ({ context }) => ({
        text: context.draft!.text,
        decidedBy: 'auto' as const,
        approvalId: null,
        key: context.draft!.id,
        offer: context.draft!.negotiation?.kind === 'offer' ? context.draft!.negotiation.plan : null,
        inReplyTo: latestInbound(context),
      }),
      identityHeld: heldForIdentity,
      unanswered: NOTHING_UNANSWERED,
    }),
    /** The debtor accepted our offer: the plan runs from now, replacing any earlier one, with what they paid since the offer. */
    agreeDraftPlan: assign({
      plan: ({ context }) =>
        context.draft?.negotiation?.kind === 'agree'
          ? agreePlan(context.draft.negotiation.plan, context.draft.id, context.paidSinceOffer)
          : context.plan,
      offeredPlan: null,
      paidSinceOffer: 0,
    }),
    /** Quiet hours: the text waits for the window, and is checked again then. */
    noteDeferral: assign({
      outgoing: ({ context, event }) => ({ ...context.outgoing!, deferredUntil: (event as unknown as { output: { deferredUntil: string } }).output.deferredUntil }),
    }),
    noteSent: assign({
      lastSent: ({ context, event }) => ({ smsId: (event as unknown as { output: { smsId: string } }).output.smsId, text: context.outgoing!.text }),
      sentCount: ({ context }) => context.sentCount + 1,
      // What the text offered is what a "yes" will accept; any other text withdraws an earlier offer.
      offeredPlan: ({ context }) => context.outgoing!.offer,
      outgoing: null,
      failure: null,
    }),
    /** A manager's decision: their text (or the draft's) goes out under the draft's key; an offer stays an offer. */
    sendAsDecided: assign({
      outgoing: ({ context, event }) => ({
        text: (event.type === 'review.approved' || event.type === 'review.modified' ? event.text : undefined) ?? context.draft!.text,
        decidedBy: 'manager' as const,
        approvalId: 'approvalId' in event ? event.approvalId : null,
        key: context.draft!.id,
        offer: context.draft!.negotiation?.kind === 'offer' ? context.draft!.negotiation.plan : null,
        inReplyTo: latestInbound(context),
      }),
      identityHeld: heldForIdentity,
      unanswered: NOTHING_UNANSWERED,
    }),
    escalateByManager: assign({
      escalation: ({ event }) => ({ reason: 'manager' as const, note: 'reason' in event ? (event.reason ?? null) : null }),
    }),
    withdrawOffer: assign({ offeredPlan: null }),
    /** The number is the debtor's: the messages only the identity question answered are answered now. */
    verifyIdentity: assign({
      identityVerified: true,
      identityClaimed: false,
      identityHeld: 0,
      unanswered: ({ context }) => ({ ...context.unanswered, count: context.unanswered.count + context.identityHeld }),
    }),
    claimIdentity: assign({ identityClaimed: true }),
    /** A manager said the number is not the debtor's: treated as a wrong number, closed for good. */
    rejectIdentity: assign({
      identityClaimed: false,
      closure: ({ event }) => ({ by: 'by' in event ? event.by : 'staff', reason: 'identity rejected: not the debtor (wrong number)' }),
    }),
    /** A draft that escalates for a dispute (or carries one behind a more severe intent) marks the debt disputed. */
    noteDispute: assign({
      disputed: ({ context, event }) => context.disputed || ('output' in event && (event.output as Draft).intents.includes('dispute')),
    }),
    verifyDebt: assign({ disputed: false }),
    /**
     * The acknowledgement (sent just before) answers the message: a person takes it from here, and a later
     * `staff.resume` does not draft the same dispute or offer again (which would acknowledge it twice).
     */
    answeredByAcknowledgement: assign({ unanswered: NOTHING_UNANSWERED }),
    noteClosure: assign({
      closure: ({ event }) => (event.type === 'staff.close' ? { by: event.by, reason: event.reason ?? null } : null),
    }),
    escalateFor: assign({
      escalation: (_, params: { reason: EscalationReason; severity?: EscalationSeverity }) => ({
        reason: params.reason,
        note: null,
        ...(params.severity ? { severity: params.severity } : {}),
      }),
    }),
    noteStaffEscalation: assign({
      escalation: ({ event }) =>
        event.type === 'staff.escalate'
          ? { reason: event.escalationType ?? ('staff' as const), note: event.reason ?? null, severity: event.severity ?? null }
          : { reason: 'staff' as const, note: null },
    }),
    /**
     * A payment counts toward the conversation, toward a plan still on offer (credited when it is agreed)
     * and, while one runs, toward the plan's oldest unpaid instalment.
     */
    recordPayment: assign({
      paidCents: ({ context, event }) => context.paidCents + (paymentOf(event)?.amountCents ?? 0),
      paidSinceOffer: ({ context, event }) => context.paidSinceOffer + (paymentOf(event)?.amountCents ?? 0),
      plan: ({ context, event }) => {
        const plan = activePlan(context);
        const payment = paymentOf(event);
        return plan && payment ? applyPayment(plan, payment.amountCents) : context.plan;
      },
    }),
    completePlan: assign({ plan: ({ context }) => (activePlan(context) ? { ...context.plan!, status: 'completed' as const } : context.plan) }),
    breakPlan: assign({ plan: ({ context }) => (activePlan(context) ? { ...context.plan!, status: 'broken' as const } : context.plan) }),
    markInstalmentMissed: assign({ plan: ({ context }) => (context.plan ? markMissed(context.plan) : null) }),
    markReminded: assign({ plan: ({ context }) => (context.plan ? markReminded(context.plan) : null) }),
  },
  guards: {
    ...createRoutingGuards(DEFAULT_ROUTING),
    isCurrentApproval: ({ context, event }) => 'approvalId' in event && event.approvalId === context.approvalId,
    isFirstSlaLapse: ({ context }) => context.slaLapses === 0,
    isDisputed: ({ context }) => context.disputed,
    disputesTheDebt: ({ event }) => 'output' in event && disputesTheDebt(event.output as Draft),
    awaitsIdentity: ({ context }) => context.identityClaimed,
    hasUnanswered: ({ context }) => context.unanswered.count > 0,
    hasOfferedPlan: ({ context }) => context.offeredPlan !== null,
    hasActivePlan: ({ context }) => activePlan(context) !== null,
    isInArrears: ({ context }) => activePlan(context) !== null && isInArrears(context.plan!),
    hasMissedBefore: ({ context }) => (context.plan?.missed ?? 0) >= 1,
    isReminderDue: ({ context }) => activePlan(context) !== null && reminderAt(context.plan!) !== null,
    failedWhileSending: ({ context }) => context.failure?.step === 'sending',
    /** Paid in full, or this payment covers what is left of the running plan. */
    paysOffPlan: ({ context, event }) => {
      const payment = paymentOf(event);
      const plan = activePlan(context);
      return payment !== null && (payment.paidInFull || (plan !== null && payment.amountCents >= remainingCents(plan)));
    },
    /** This payment is more than what is left of the running plan: money is owed back. */
    overpaysPlan: ({ context, event }) => {
      const payment = paymentOf(event);
      const plan = activePlan(context);
      return payment !== null && plan !== null && payment.amountCents > remainingCents(plan);
    },
    /** After this payment no instalment of the running plan is missed any more. */
    catchesUp: ({ context, event }) => {
      const payment = paymentOf(event);
      const plan = activePlan(context);
      return payment !== null && plan !== null && !isInArrears(applyPayment(plan, payment.amountCents));
    },
    isDeferred: ({ event }) => 'output' in event && typeof event.output === 'object' && event.output !== null && 'deferredUntil' in event.output,
    // The same detector the drafters use: a natural "take me off your list" stops a send as surely as STOP.
    isOptOutMessage: ({ event }) => event.type === 'sms.received' && isOptOutRequest(event.text),
  },
  delays: {
    // Defaults (docs/architecture.md); the runtime provides the configured values and its clock.
    noReply: 36 * 60 * 60 * 1000,
    approvalSla: 4 * 60 * 60 * 1000,
    ...createPlanDelays(Date.now),
  },
});

export const NO_REPLY_TIMER = 'timer.no_reply';
export const APPROVAL_SLA_TIMER = 'timer.approval_sla';
export const PLAN_REMINDER_TIMER = 'timer.plan_reminder';
export const PLAN_DEADLINE_TIMER = 'timer.plan_deadline';
export const SEND_WINDOW_TIMER = 'timer.send_window';

export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  return String(error);
}
