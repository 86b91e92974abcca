import { conversationSetup as s } from '../conversation.setup.js';
import { noReplyTimer } from './shared.js';

/** Our text was the last word; silence for `noReply` hands the conversation to a person. */
export const awaitingReply = s.createStateConfig({
  ...noReplyTimer,
  on: {
    'timer.no_reply': { target: 'escalated', actions: { type: 'escalateFor', params: { reason: 'no_response' } } },
  },
});
