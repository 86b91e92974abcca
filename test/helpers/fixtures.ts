import type { Draft, Negotiation, ScheduledPlan } from '../../machines/conversation/conversation.types.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';
import { isFirstText, type DraftRequest } from '../../src/adapters/drafting/drafter.js';
import type { Tenant } from '../../src/adapters/ports.js';
import type { ThreadMessage } from '../../src/db/draft-facts.repository.js';
import { negotiate } from '../../src/negotiation/index.js';
import { DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';

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
    negotiation: null,
    reviewReason: null,
    ...overrides,
  };
}

/** A text of ours already in the thread: the next reply is not the first and carries the short closing. */
export const EARLIER_REPLY: ThreadMessage = {
  id: 'sms-earlier',
  direction: 'outbound',
  content: 'Hi. This is a debt collector attempting to collect a debt; any information obtained will be used for that purpose. Reply STOP to opt out.',
  createdAt: '2024-12-30T10:00:00Z',
};

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
    timeZone: 'America/Chicago',
    ...overrides,
  };
}

/** $200 a week for 4 weeks on a $750 balance (200, 200, 200, 150), due Fridays from 2026-01-09. */
export function makePlan(): PaymentPlan {
  return {
    frequency: 'weekly',
    instalmentCents: 20_000,
    count: 4,
    downPaymentCents: 0,
    totalCents: 75_000,
    schedule: [
      { dueOn: '2026-01-09', amountCents: 20_000 },
      { dueOn: '2026-01-16', amountCents: 20_000 },
      { dueOn: '2026-01-23', amountCents: 20_000 },
      { dueOn: '2026-01-30', amountCents: 15_000 },
    ],
  };
}

/** The same plan with its timers' instants, as the drafter activity hands it over when the debtor agrees. */
export function makeScheduledPlan(): ScheduledPlan {
  const plan = makePlan();
  return {
    ...plan,
    timeZone: 'America/Chicago',
    schedule: plan.schedule.map((instalment) => ({
      ...instalment,
      remindAt: `${instalment.dueOn.slice(0, 8)}${String(Number(instalment.dueOn.slice(8)) - 2).padStart(2, '0')}T16:00:00.000Z`,
      deadlineAt: `${instalment.dueOn}T06:00:00.000Z`,
    })),
    finalDeadlineAt: '2026-02-03T06:00:00.000Z',
  };
}

export const offerOf = (plan: PaymentPlan = makePlan(), verdict: 'valid' | 'needs_approval' = 'valid'): Negotiation => ({
  kind: 'offer',
  plan,
  verdict,
  counter: false,
  reasons: verdict === 'valid' ? [] : ['longer_than_auto_agree'],
});

/** When the tests' debtors write: a Wednesday afternoon in Chicago. */
export const TEST_NOW = new Date('2025-12-31T15:00:00Z');

/**
 * A drafting request as the drafter activity builds it: code's negotiation step first (with what our last
 * text offered), then the messages. Both drafters' tests use it, so they see what production sees.
 */
export function makeDraftRequest(
  texts: string[],
  tenant: Tenant,
  options: { offeredPlan?: PaymentPlan | null; history?: ThreadMessage[] } = {},
): DraftRequest {
  const step = negotiate({
    texts,
    offeredPlan: options.offeredPlan ?? null,
    activePlan: null,
    owedCents: tenant.amountOwedCents,
    failedPlans: 0,
    language: tenant.language,
    timeZone: tenant.timeZone ?? 'America/Chicago',
    now: TEST_NOW,
    compliance: DEFAULT_COMPLIANCE,
    firstText: isFirstText({ history: options.history ?? [] }),
  });
  return {
    conversationId: 'c-1',
    tenant,
    history: options.history ?? [],
    unanswered: texts.map((text, index) => ({ text, at: `2025-01-0${index + 1}T10:00:00Z`, messageId: `m-${index}` })),
    step,
    plan: null,
  };
}
