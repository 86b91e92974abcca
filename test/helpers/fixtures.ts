import type { Draft } from '../../machines/conversation/conversation.types.js';
import type { Tenant } from '../../src/effects/ports.js';

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

/** A tenant as the Collections Monitor client returns it. */
export function makeTenant(overrides: Partial<Tenant> = {}): Tenant {
  return {
    tenantId: 't-1',
    tenantName: 'Ana García',
    amountOwedCents: 123_456,
    daysLate: 45,
    language: 'en',
    phoneNumbers: ['+15551234567'],
    paymentReliabilityScore: 0.4,
    failedPaymentPlans: 1,
    ...overrides,
  };
}
