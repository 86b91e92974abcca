import { assign, cancel, raise } from 'xstate';
import { conversationSetup as s, errorMessage, SEND_WINDOW_TIMER } from '../conversation.setup.js';

/**
 * The text goes to the SMS Agent, through the send-time gate (the compliance rules again, quiet hours).
 * The transitions into `sending` from a draft clear `unanswered` (those messages are what it answers); a
 * retry after a failure does not, so a message that arrived meanwhile still gets its turn.
 */
export const sending = s.createStateConfig({
  initial: 'handingOff',
  on: {
    'sms.received': [
      // STOP wins over a text on its way: leaving `sending` stops the send if it has not gone out yet.
      { guard: 'isOptOutMessage', target: 'drafting', actions: 'rememberInbound' },
      // Otherwise the text goes out and the new message waits for the next turn.
      { actions: 'rememberInbound' },
    ],
  },
  states: {
    handingOff: {
      invoke: {
        id: 'sender',
        src: 'sendSms',
        input: ({ context }) => ({
          conversationId: context.conversationId,
          phone: context.phone,
          text: context.outgoing!.text,
          language: context.draft?.language ?? 'en',
          timeZone: context.draft?.timeZone ?? null,
          inReplyTo: context.outgoing!.inReplyTo ?? null,
          messageKey: context.outgoing!.key,
        }),
        onDone: [
          { guard: 'isDeferred', target: 'waitingForWindow', actions: 'noteDeferral' },
          { target: '#conversation.sent', actions: 'noteSent' },
        ],
        onError: {
          target: '#conversation.failed',
          actions: assign({ failure: ({ event }) => ({ step: 'sending' as const, message: errorMessage(event.error) }) }),
        },
      },
    },
    /**
     * Quiet hours in the debtor's zone: the text waits, durably, for the window to open and is checked again
     * then. The debtor writing meanwhile supersedes it: a reply to their new message may go out at once.
     */
    waitingForWindow: {
      entry: raise({ type: SEND_WINDOW_TIMER }, { id: SEND_WINDOW_TIMER, delay: 'sendWindow' }),
      exit: cancel(SEND_WINDOW_TIMER),
      on: {
        'timer.send_window': 'handingOff',
        'sms.received': { target: '#conversation.drafting', actions: 'rememberInbound' },
      },
    },
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
