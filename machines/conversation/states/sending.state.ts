import { assign } from 'xstate';
import { conversationSetup as s, errorMessage } from '../conversation.setup.js';

/**
 * The text goes to the SMS Agent. The transitions into `sending` from a draft clear `unanswered` (those
 * messages are what it answers); a retry after a failure does not, so a message that arrived meanwhile
 * still gets its turn.
 */
export const sending = s.createStateConfig({
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
    onDone: { target: 'sent', actions: 'noteSent' },
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
});

/** Transient: where the conversation waits after our text depends on what is open. */
export const sent = s.createStateConfig({
  always: [
    { guard: 'hasUnanswered', target: 'drafting' },
    { guard: 'hasOfferedPlan', target: 'negotiating.awaitingConfirmation' },
    { guard: 'isInArrears', target: 'negotiating.missedPayment' },
    { guard: 'hasActivePlan', target: 'planAgreed' },
    { target: 'awaitingReply' },
  ],
});
