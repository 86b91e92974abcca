import { conversationSetup as s } from '../conversation.setup.js';

/** Final. The number is opted out for every conversation, not only this one; one confirmation, ever. */
export const optedOut = s.createStateConfig({
  type: 'final',
  entry: [
    { type: 'recordOptOut', params: ({ context }) => ({ phone: context.phone }) },
    {
      type: 'sendOptOutConfirmation',
      params: ({ context }) => ({ phone: context.phone, language: context.draft?.language ?? 'en' }),
    },
  ],
});
