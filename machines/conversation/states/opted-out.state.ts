import { conversationSetup as s } from '../conversation.setup.js';

/** Final. The number is opted out for every conversation of its tenant, not only this one; one confirmation per tenant. */
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
