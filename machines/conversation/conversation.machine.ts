import { assign, cancel, fromPromise, raise, setup } from 'xstate';
import type {
  ConversationContext,
  ConversationEvent,
  ConversationInput,
  Draft,
  EscalationReason,
  InboundMessage,
  Language,
  SendResult,
} from './conversation.types.js';
import { isOptOutKeyword } from './opt-out.js';
import { DEFAULT_ROUTING, humanOnlyIntent, routeDraft, type Route, type RoutingPolicy } from './routing.js';

/**
 * The `conversation` machine: one debtor's SMS thread (design §1).
 *
 * It only *names* its effects. The durable runtime (src/runtime) never executes them in-process:
 * invokes and delayed events become jobs, named actions become in-transaction projections or jobs.
 * The placeholder implementations below exist for typing; `machine.provide()` swaps them at the edge.
 */

export interface DraftReplyInput {
  conversationId: string;
  tenantId: string;
  phone: string;
  unanswered: InboundMessage[];
}

export interface SendSmsInput {
  conversationId: string;
  phone: string;
  text: string;
  language: Language;
  /** Names the message across retries (see `outgoing.key`). */
  messageKey: string;
}

/** Action params, shared with the runtime's executors. */
export interface ActionParams {
  openApproval: { approvalId: string };
  closeApproval: {
    approvalId: string;
    status: 'approved' | 'modified' | 'escalated' | 'superseded' | 'expired' | 'withdrawn';
    reviewer: string | null;
    finalText: string | null;
    reason: string | null;
  };
  notifyManagers: { approvalId: string; confidence: number; reminder: boolean };
  openEscalation: { reason: EscalationReason; note: string | null };
  closeEscalation: { resolution: 'resumed' | 'closed' | 'other' };
  recordOptOut: { phone: string };
  notifyStaff: { kind: 'escalated' | 'inbound_while_escalated' | 'failed'; reason: string };
  sendOptOutConfirmation: { phone: string; language: Language };
}

const notProvided = (name: string) => () => {
  throw new Error(`${name} is provided at the edge with machine.provide()`);
};
/** A named effect: the runtime turns it into a projection or a job; nothing runs in the machine. */
const effect =
  <K extends keyof ActionParams>() =>
  (_: unknown, _params: ActionParams[K]) => {};

export function createRoutingGuards(policy: RoutingPolicy) {
  return {
    routesTo: ({ event }: { event: object }, params: { route: Route }) =>
      'output' in event && routeDraft(event.output as Draft, policy) === params.route,
  };
}

/**
 * Closes the queued item without a manager (timer, newer message). Exit actions run before a
 * transition's own, so the item is named by `draft.id`, which outlives `approvalId`.
 */
const closeQueuedApproval = (status: 'expired' | 'superseded' | 'withdrawn', reason?: string) =>
  ({
    type: 'closeApproval',
    params: ({ context, event }: { context: ConversationContext; event: ConversationEvent }) => ({
      approvalId: context.draft!.id,
      status,
      reviewer: null,
      finalText: null,
      reason: reason ?? event.type,
    }),
  }) as const;

/**
 * Staff and payment events, legal in every state that is not final. A state that holds something
 * open (a queued approval) passes the actions that close it, so nothing is left pending behind it.
 */
const staffAndPaymentHandlers = (closing: ReadonlyArray<ReturnType<typeof closeQueuedApproval>>) => ({
  'staff.escalate': {
    target: '#conversation.escalated',
    actions: [...closing, 'noteStaffEscalation' as const],
  },
  'staff.close': { target: '#conversation.closed', actions: [...closing] },
  // A partial payment is recorded (an accepted event with no move); paid in full closes.
  'payment.received': [
    { guard: 'isPaidInFull' as const, target: '#conversation.closed', actions: [...closing, 'recordPayment' as const] },
    { actions: 'recordPayment' as const },
  ],
});

export const NO_REPLY_TIMER = 'timer.no_reply';
export const APPROVAL_SLA_TIMER = 'timer.approval_sla';

export const conversationMachine = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as ConversationInput,
  },
  actors: {
    draftReply: fromPromise<Draft, DraftReplyInput>(notProvided('draftReply')),
    sendSms: fromPromise<SendResult, SendSmsInput>(notProvided('sendSms')),
  },
  actions: {
    openApproval: effect<'openApproval'>(),
    closeApproval: effect<'closeApproval'>(),
    notifyManagers: effect<'notifyManagers'>(),
    openEscalation: effect<'openEscalation'>(),
    closeEscalation: effect<'closeEscalation'>(),
    recordOptOut: effect<'recordOptOut'>(),
    notifyStaff: effect<'notifyStaff'>(),
    sendOptOutConfirmation: effect<'sendOptOutConfirmation'>(),
    /** The debtor said something: keep it until a reply that answers it goes out. */
    rememberInbound: assign({
      unanswered: ({ context, event }) =>
        event.type === 'sms.received'
          ? [...context.unanswered, { text: event.text, messageId: event.messageId, at: event.at }]
          : context.unanswered,
    }),
    noteStaffEscalation: assign({
      escalation: ({ event }) => ({ reason: 'staff' as const, note: event.type === 'staff.escalate' ? (event.reason ?? null) : null }),
    }),
    recordPayment: assign({
      paidCents: ({ context, event }) => context.paidCents + (event.type === 'payment.received' ? event.amountCents : 0),
    }),
  },
  guards: {
    ...createRoutingGuards(DEFAULT_ROUTING),
    isCurrentApproval: ({ context, event }) =>
      'approvalId' in event && event.approvalId === context.approvalId,
    isFirstSlaLapse: ({ context }) => context.slaLapses === 0,
    hasUnanswered: ({ context }) => context.unanswered.length > 0,
    failedWhileSending: ({ context }) => context.failure?.step === 'sending',
    isPaidInFull: ({ event }) => event.type === 'payment.received' && event.paidInFull,
    isOptOutMessage: ({ event }) => event.type === 'sms.received' && isOptOutKeyword(event.text),
  },
  delays: {
    // Defaults of design §1/§3; the runtime provides the configured values.
    noReply: 36 * 60 * 60 * 1000,
    approvalSla: 4 * 60 * 60 * 1000,
  },
}).createMachine({
  id: 'conversation',
  initial: 'idle',
  context: ({ input }) => ({
    ...input,
    unanswered: [],
    draft: null,
    outgoing: null,
    approvalId: null,
    slaLapses: 0,
    lastSent: null,
    sentCount: 0,
    paidCents: 0,
    escalation: null,
    failure: null,
  }),
  on: {
    // An inbound SMS is legal everywhere; by default the debtor said more, so draft again with everything.
    'sms.received': {
      target: '.drafting',
      reenter: true,
      actions: 'rememberInbound',
    },
    ...staffAndPaymentHandlers([]),
  },
  states: {
    /** Created; nobody has written yet. */
    idle: {},

    awaitingReply: {
      entry: raise({ type: NO_REPLY_TIMER }, { id: NO_REPLY_TIMER, delay: 'noReply' }),
      exit: cancel(NO_REPLY_TIMER),
      on: {
        'timer.no_reply': {
          target: 'escalated',
          actions: assign({ escalation: { reason: 'no_response', note: null } }),
        },
      },
    },

    drafting: {
      invoke: {
        id: 'drafter',
        src: 'draftReply',
        input: ({ context }) => ({
          conversationId: context.conversationId,
          tenantId: context.tenantId,
          phone: context.phone,
          unanswered: context.unanswered,
        }),
        onDone: [
          {
            guard: { type: 'routesTo', params: { route: 'optOut' } },
            target: 'optedOut',
            actions: assign({ draft: ({ event }) => event.output }),
          },
          {
            guard: { type: 'routesTo', params: { route: 'escalate' } },
            target: 'escalated',
            actions: assign({
              draft: ({ event }) => event.output,
              escalation: ({ event }) => ({ reason: humanOnlyIntent(event.output), note: null }),
            }),
          },
          {
            guard: { type: 'routesTo', params: { route: 'lowConfidence' } },
            target: 'escalated',
            actions: assign({
              draft: ({ event }) => event.output,
              escalation: { reason: 'low_confidence', note: null },
            }),
          },
          {
            guard: { type: 'routesTo', params: { route: 'autoSend' } },
            target: 'sending',
            actions: assign({
              draft: ({ event }) => event.output,
              outgoing: ({ event }) => ({ text: event.output.text, decidedBy: 'auto' as const, approvalId: null, key: event.output.id }),
              unanswered: [],
            }),
          },
          {
            target: 'pendingApproval',
            actions: assign({ draft: ({ event }) => event.output }),
          },
        ],
        onError: {
          target: 'failed',
          actions: assign({ failure: ({ event }) => ({ step: 'drafting' as const, message: errorMessage(event.error) }) }),
        },
      },
    },

    pendingApproval: {
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
        'review.approved': {
          guard: 'isCurrentApproval',
          target: 'sending',
          actions: [
            assign({
              outgoing: ({ context, event }) => ({
                text: event.text ?? context.draft!.text,
                decidedBy: 'manager' as const,
                approvalId: event.approvalId,
                key: context.draft!.id,
              }),
              unanswered: [],
            }),
            {
              type: 'closeApproval',
              params: ({ context, event }) => ({
                approvalId: event.approvalId,
                status: 'approved' as const,
                reviewer: event.managerId,
                finalText: event.text ?? context.draft!.text,
                reason: null,
              }),
            },
          ],
        },
        'review.modified': {
          guard: 'isCurrentApproval',
          target: 'sending',
          actions: [
            assign({
              outgoing: ({ context, event }) => ({ text: event.text, decidedBy: 'manager' as const, approvalId: event.approvalId, key: context.draft!.id }),
              unanswered: [],
            }),
            {
              type: 'closeApproval',
              params: ({ event }) => ({
                approvalId: event.approvalId,
                status: 'modified' as const,
                reviewer: event.managerId,
                finalText: event.text,
                reason: null,
              }),
            },
          ],
        },
        'review.escalated': {
          guard: 'isCurrentApproval',
          target: 'escalated',
          actions: [
            assign({ escalation: ({ event }) => ({ reason: 'manager' as const, note: event.reason ?? null }) }),
            {
              type: 'closeApproval',
              params: ({ event }) => ({
                approvalId: event.approvalId,
                status: 'escalated' as const,
                reviewer: event.managerId,
                finalText: null,
                reason: event.reason ?? null,
              }),
            },
          ],
        },
        // A timer re-notifies, then hands the conversation to a person; it never sends a draft.
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
            actions: [
              assign({ escalation: { reason: 'approval_sla', note: null } }),
              closeQueuedApproval('expired', 'approval_sla'),
            ],
          },
        ],
        ...staffAndPaymentHandlers([closeQueuedApproval('withdrawn')]),
        'sms.received': {
          target: 'drafting',
          actions: [
            'rememberInbound',
            closeQueuedApproval('superseded', 'newer inbound message'),
          ],
        },
      },
    },

    // The transitions into `sending` from a draft clear `unanswered` (those messages are what it answers);
    // a retry after a failure does not, so a message that arrived meanwhile still gets its turn.
    sending: {
      invoke: {
        id: 'sender',
        src: 'sendSms',
        input: ({ context }) => ({
          conversationId: context.conversationId,
          phone: context.phone,
          text: context.outgoing!.text,
          language: context.draft?.language ?? 'en',
          messageKey: context.outgoing!.key,
        }),
        onDone: {
          target: 'sent',
          actions: assign({
            lastSent: ({ context, event }) => ({ smsId: event.output.smsId, text: context.outgoing!.text }),
            sentCount: ({ context }) => context.sentCount + 1,
            outgoing: null,
            failure: null,
          }),
        },
        onError: {
          target: 'failed',
          actions: assign({ failure: ({ event }) => ({ step: 'sending' as const, message: errorMessage(event.error) }) }),
        },
      },
      on: {
        'sms.received': [
          // STOP wins over a text on its way: leaving `sending` stops the send if it has not gone out yet.
          { guard: 'isOptOutMessage', target: 'drafting', actions: 'rememberInbound' },
          // Otherwise the text goes out and the new message waits for the next turn.
          { actions: 'rememberInbound' },
        ],
      },
    },

    sent: {
      always: [{ guard: 'hasUnanswered', target: 'drafting' }, { target: 'awaitingReply' }],
    },

    planAgreed: {},

    escalated: {
      entry: [
        { type: 'openEscalation', params: ({ context }) => context.escalation ?? { reason: 'staff' as const, note: null } },
        { type: 'notifyStaff', params: ({ context }) => ({ kind: 'escalated' as const, reason: context.escalation?.reason ?? 'staff' }) },
      ],
      exit: {
        type: 'closeEscalation',
        params: ({ event }) => ({
          resolution: event.type === 'staff.resume' ? ('resumed' as const) : event.type === 'staff.close' ? ('closed' as const) : ('other' as const),
        }),
      },
      on: {
        // Already with a person: a second escalation updates the note instead of opening another case.
        'staff.escalate': { actions: 'noteStaffEscalation' },
        'sms.received': {
          actions: [
            'rememberInbound',
            { type: 'notifyStaff', params: { kind: 'inbound_while_escalated', reason: 'debtor wrote' } },
          ],
        },
        'staff.resume': [
          { guard: 'hasUnanswered', target: 'drafting', actions: assign({ escalation: null }) },
          { target: 'awaitingReply', actions: assign({ escalation: null }) },
        ],
      },
    },

    failed: {
      entry: {
        type: 'notifyStaff',
        params: ({ context }) => ({ kind: 'failed' as const, reason: context.failure?.step ?? 'unknown' }),
      },
      on: {
        retry: [
          { guard: 'failedWhileSending', target: 'sending' },
          { target: 'drafting' },
        ],
      },
    },

    optedOut: {
      type: 'final',
      // The number is opted out for every conversation, not only this one; one confirmation, ever.
      entry: [
        { type: 'recordOptOut', params: ({ context }) => ({ phone: context.phone }) },
        {
          type: 'sendOptOutConfirmation',
          params: ({ context }) => ({ phone: context.phone, language: context.draft?.language ?? 'en' }),
        },
      ],
    },

    closed: { type: 'final' },
  },
});

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  return String(error);
}

export type ConversationMachine = typeof conversationMachine;
export const CONVERSATION_STATES = Object.keys(conversationMachine.root.states);
