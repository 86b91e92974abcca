import { assign } from 'xstate';
import { conversationSetup as s } from '../conversation.setup.js';
import { acknowledge } from './shared.js';

const resumedBy = new Set(['staff.resume', 'identity.verified']);
const closedBy = new Set(['staff.close', 'identity.rejected']);

/**
 * A person owns the conversation; automation waits for `staff.resume` or `staff.close`. A disputed debt waits
 * for `debt.verified` first; an identity claim for `identity.verified` (the debtor's messages are answered)
 * or `identity.rejected` (a wrong number: one text, then no contact).
 */
export const escalated = s.createStateConfig({
  entry: [
    { type: 'openEscalation', params: ({ context }) => context.escalation ?? { reason: 'staff' as const, note: null } },
    { type: 'notifyStaff', params: ({ context }) => ({ kind: 'escalated' as const, reason: context.escalation?.reason ?? 'staff' }) },
  ],
  exit: [
    {
      type: 'closeEscalation',
      params: ({ event }) => ({
        resolution: resumedBy.has(event.type) ? ('resumed' as const) : closedBy.has(event.type) ? ('closed' as const) : ('other' as const),
      }),
    },
    // A claim is decided here or not at all: resumed without a decision, the next answer is a new claim.
    assign({ identityClaimed: false }),
  ],
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
      // Not accepted (409): a disputed debt is not collected until it is verified.
      { guard: 'isDisputed' },
      { guard: 'hasUnanswered', target: 'drafting', actions: assign({ escalation: null }) },
      { guard: 'hasActivePlan', target: 'planAgreed', actions: assign({ escalation: null }) },
      { target: 'awaitingReply', actions: assign({ escalation: null }) },
    ],
    // The manager checked the debt (§1006.38(d)(2)): a later `staff.resume` may restart collection.
    'debt.verified': { guard: 'isDisputed', actions: 'verifyDebt' },
    'identity.verified': [
      { guard: 'awaitsIdentity', target: 'drafting', actions: ['verifyIdentity', assign({ escalation: null })] },
      { actions: 'verifyIdentity' },
    ],
    'identity.rejected': { guard: 'awaitsIdentity', target: 'closed', actions: ['rejectIdentity', acknowledge('identity_rejected')] },
  },
});
