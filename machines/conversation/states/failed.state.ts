import { conversationSetup as s } from '../conversation.setup.js';

/** A side effect failed after its retries; a manager's `retry` resumes at the step that failed. */
export const failed = s.createStateConfig({
  entry: {
    type: 'notifyStaff',
    params: ({ context }) => ({ kind: 'failed' as const, reason: context.failure?.step ?? 'unknown' }),
  },
  on: {
    retry: [{ guard: 'failedWhileSending', target: 'sending' }, { target: 'drafting' }],
  },
});
