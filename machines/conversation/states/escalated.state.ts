import { assign } from 'xstate';
import { conversationSetup as s } from '../conversation.setup.js';

/** A person owns the conversation; automation waits for `staff.resume` or `staff.close`. */
export const escalated = s.createStateConfig({
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
    // Already with a person: a second escalation updates the open case (reason, note, severity) instead of
    // opening another, so the escalations list and the conversation say the same.
    'staff.escalate': {
      actions: ['noteStaffEscalation', { type: 'updateEscalation', params: ({ context }) => context.escalation ?? { reason: 'staff' as const, note: null } }],
    },
    'sms.received': {
      actions: ['rememberInbound', { type: 'notifyStaff', params: { kind: 'inbound_while_escalated', reason: 'debtor wrote' } }],
    },
    'staff.resume': [
      { guard: 'hasUnanswered', target: 'drafting', actions: assign({ escalation: null }) },
      { guard: 'hasActivePlan', target: 'planAgreed', actions: assign({ escalation: null }) },
      { target: 'awaitingReply', actions: assign({ escalation: null }) },
    ],
  },
});
