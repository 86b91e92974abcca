import type { Draft } from '../../machines/conversation/conversation.types.js';

/** A draft as the drafter activity hands it to the machine; tests override what they need. */
export function makeDraft(overrides: Partial<Draft> = {}): Draft {
  return {
    id: 'draft-1',
    text: 'Hi, this is a debt collector. We got your message. Reply STOP to opt out.',
    intents: ['question'],
    confidence: 0.7,
    drafter: 'rules',
    model: null,
    language: 'en',
    plan: null,
    reviewReason: null,
    ...overrides,
  };
}
