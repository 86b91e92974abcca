import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PLAN_FREQUENCIES, type PaymentPlan, type PlanFrequency } from '../../machines/conversation/plan.types.js';
import {
  DEFAULT_PLAN_POLICY,
  buildPlan,
  counterProposal,
  evaluatePlan,
  negotiate,
  weeklyEquivalentCents,
  weeksOf,
  type ParsedOffer,
  type PlanPolicy,
} from '../../src/negotiation/index.js';
import { DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';

const ZONE = 'America/Chicago';
const TODAY = '2026-11-25';
const ctx = (owedCents: number, failedPlans = 0) => ({ owedCents, today: TODAY, timeZone: ZONE, failedPlans });
const offer = (fields: Partial<ParsedOffer>): ParsedOffer => ({
  instalmentCents: null,
  frequency: null,
  count: null,
  startOn: null,
  downPaymentCents: null,
  matched: [],
  ...fields,
});
const plan = (fields: Partial<ParsedOffer>, owedCents = 75000): PaymentPlan => {
  const built = buildPlan(offer(fields), { owedCents, today: TODAY, timeZone: ZONE });
  if (!built) throw new Error('expected a plan');
  return built;
};

describe('buildPlan', () => {
  it('when a monthly plan starts on Jan 31, then February clamps to the 28th and March returns to the 31st', () => {
    const built = plan({ instalmentCents: 10000, frequency: 'monthly', count: 3, startOn: '2027-01-31' });
    expect(built.schedule.map((entry) => entry.dueOn)).toEqual(['2027-01-31', '2027-02-28', '2027-03-31']);
  });

  it('when no start is given, then the first payment is one period from today', () => {
    const first = (frequency: PlanFrequency) => plan({ instalmentCents: 10000, frequency }).schedule[0].dueOn;
    expect(PLAN_FREQUENCIES.map(first)).toEqual(['2026-12-02', '2026-12-09', '2026-12-01', '2026-12-25']);
  });

  it('when the count over-covers the balance, then it is trimmed and the last payment is the remainder', () => {
    const built = plan({ instalmentCents: 20000, frequency: 'weekly', count: 10 });
    expect(built.schedule.map((entry) => entry.amountCents)).toEqual([20000, 20000, 20000, 15000]);
  });

  it('when an amount has no period and no count, then it is a one-off promise and no plan is built', () => {
    expect(buildPlan(offer({ instalmentCents: 20000 }), { owedCents: 75000, today: TODAY, timeZone: ZONE })).toBeNull();
  });

  it('when there is neither an instalment nor a down payment, then no plan is built', () => {
    expect(buildPlan(offer({ frequency: 'weekly', count: 8 }), { owedCents: 75000, today: TODAY, timeZone: ZONE })).toBeNull();
  });

  it('when lengths are compared, then they are exact fractions of weeks', () => {
    expect(weeksOf(plan({ instalmentCents: 10000, frequency: 'monthly', count: 3 }))).toEqual({ num: 39, den: 3 });
    expect(weeklyEquivalentCents(plan({ instalmentCents: 13000, frequency: 'monthly', count: 3 }))).toBe(3000);
  });
});

describe('evaluatePlan: one example per reason', () => {
  it('when the weekly equivalent is under $25, then below_min_weekly', () => {
    expect(evaluatePlan(plan({ instalmentCents: 2000, frequency: 'weekly', count: 12 }, 24000), ctx(24000)).reasons).toEqual(['below_min_weekly']);
  });

  it('when a balance under $25 is paid in one payment, then the weekly minimum does not apply', () => {
    expect(evaluatePlan(plan({ instalmentCents: 2000, frequency: 'weekly', count: 1 }, 2000), ctx(2000)).verdict).toBe('valid');
  });

  it('when the plan runs more than 12 weeks, then too_long', () => {
    expect(evaluatePlan(plan({ instalmentCents: 5000, frequency: 'weekly' }), ctx(75000)).reasons).toEqual(['too_long']);
  });

  it('when the plan covers less than 90% of the balance, then total_too_low', () => {
    expect(evaluatePlan(plan({ instalmentCents: 5000, frequency: 'weekly', count: 8 }), ctx(75000)).reasons).toEqual(['total_too_low']);
  });

  it('when the plan covers exactly 90% of the balance, then the total is enough', () => {
    const reasons = evaluatePlan(plan({ instalmentCents: 22500, frequency: 'weekly', count: 3 }), ctx(75000)).reasons;
    expect(reasons).not.toContain('total_too_low');
  });

  it('when the first payment is more than 30 days away, then first_payment_too_late', () => {
    expect(evaluatePlan(plan({ instalmentCents: 25000, frequency: 'weekly', startOn: '2026-12-26' }), ctx(75000)).reasons).toEqual(['first_payment_too_late']);
  });

  it('when the first payment is exactly 30 days away, then it is in time', () => {
    expect(evaluatePlan(plan({ instalmentCents: 25000, frequency: 'weekly', startOn: '2026-12-25' }), ctx(75000)).verdict).toBe('valid');
  });

  it('when the first payment is before today, then first_payment_in_past', () => {
    expect(evaluatePlan(plan({ instalmentCents: 25000, frequency: 'weekly', startOn: '2026-11-20' }), ctx(75000)).reasons).toEqual(['first_payment_in_past']);
  });

  it('when a plan asks for more than the balance, then total_above_balance', () => {
    const over = plan({ instalmentCents: 25000, frequency: 'weekly' });
    expect(evaluatePlan(over, ctx(50000)).reasons).toContain('total_above_balance');
  });

  it('when the schedule does not add up to the total, then malformed_plan', () => {
    const broken = { ...plan({ instalmentCents: 25000, frequency: 'weekly' }), totalCents: 1 };
    expect(evaluatePlan(broken, ctx(75000)).reasons).toEqual(['malformed_plan']);
  });

  it('when nothing is owed, then no_balance and no counter-proposal', () => {
    expect(evaluatePlan(plan({ instalmentCents: 25000, frequency: 'weekly' }), ctx(0))).toEqual({ verdict: 'invalid', reasons: ['no_balance'], counterProposal: null });
  });

  it('when an acceptable plan runs more than 4 weeks, then needs_approval with longer_than_auto_agree', () => {
    expect(evaluatePlan(plan({ instalmentCents: 10000, frequency: 'weekly' }), ctx(75000))).toEqual({
      verdict: 'needs_approval',
      reasons: ['longer_than_auto_agree'],
      counterProposal: null,
    });
  });

  it('when the debtor has failed two plans, then even a short plan needs approval with prior_failed_plans', () => {
    expect(evaluatePlan(plan({ instalmentCents: 25000, frequency: 'weekly' }), ctx(75000, 2)).reasons).toEqual(['prior_failed_plans']);
  });

  it('when an acceptable plan is short and the debtor has a clean record, then valid', () => {
    expect(evaluatePlan(plan({ instalmentCents: 25000, frequency: 'weekly' }), ctx(75000, 1))).toEqual({ verdict: 'valid', reasons: [], counterProposal: null });
  });
});

describe('counterProposal', () => {
  it('when the debtor offered monthly and it cannot fit, then the frequency is kept with a larger whole-dollar amount', () => {
    const counter = counterProposal(plan({ instalmentCents: 25000, frequency: 'monthly' }), ctx(75000));
    expect(counter).toMatchObject({ frequency: 'monthly', count: 2, instalmentCents: 37500, totalCents: 75000 });
  });

  it('when the debtor start is too late, then the counter-proposal starts on the last allowed day', () => {
    const counter = counterProposal(plan({ instalmentCents: 5000, frequency: 'weekly', startOn: '2027-01-15' }), ctx(75000));
    expect(counter?.schedule[0].dueOn).toBe('2026-12-25');
  });

  it('when the debtor amount already fits in 12 weeks, then it is kept and only the count changes', () => {
    const counter = counterProposal(plan({ instalmentCents: 7000, frequency: 'weekly', count: 4 }), ctx(75000));
    expect(counter).toMatchObject({ instalmentCents: 7000, count: 11, totalCents: 75000 });
  });

  it('when the needed amount is more than 3x the offered weekly amount, then null (unrealistic)', () => {
    expect(counterProposal(plan({ instalmentCents: 2000, frequency: 'weekly', count: 12 }), ctx(75000))).toBeNull();
  });

  it('when a custom policy makes the debtor frequency impossible, then the counter-proposal falls back to weekly', () => {
    const strict: PlanPolicy = { ...DEFAULT_PLAN_POLICY, maxWeeks: 4 };
    const counter = counterProposal(plan({ instalmentCents: 30000, frequency: 'monthly', count: 3 }), ctx(75000), strict);
    expect(counter).toMatchObject({ frequency: 'weekly', count: 4, totalCents: 75000 });
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties.

const RUNS = { numRuns: 1000 };
const day = fc.date({ min: new Date('2026-10-01T00:00:00Z'), max: new Date('2027-03-31T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10));
const frequency = fc.constantFrom<PlanFrequency>(...PLAN_FREQUENCIES);
const owed = fc.integer({ min: 1, max: 10_000_000 });
const offers = fc.record({
  instalmentCents: fc.option(fc.integer({ min: 1, max: 5_000_000 }), { nil: null }),
  frequency: fc.option(frequency, { nil: null }),
  count: fc.option(fc.integer({ min: 1, max: 200 }), { nil: null }),
  startOn: fc.option(day, { nil: null }),
  downPaymentCents: fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: null }),
  matched: fc.constant([] as string[]),
});
const policies = fc.record({
  minWeeklyCents: fc.integer({ min: 0, max: 20_000 }),
  maxWeeks: fc.integer({ min: 0, max: 60 }),
  minTotalBasisPoints: fc.integer({ min: 0, max: 10_000 }),
  maxDaysToFirstPayment: fc.integer({ min: 0, max: 60 }),
  autoAgreeMaxWeeks: fc.integer({ min: 0, max: 12 }),
  managerAfterFailedPlans: fc.integer({ min: 0, max: 5 }),
  maxCounterRatio: fc.integer({ min: 1, max: 10 }),
});

describe('the first date the builder picks, and the policy', () => {
  it('when "monthly payments of $200 for 2 months" names no date on a day a month from which is 31 days away, then the builder picks a date the policy accepts', () => {
    const today = '2025-12-31';
    const built = buildPlan(offer({ instalmentCents: 20000, frequency: 'monthly', count: 2 }), { owedCents: 40000, today, timeZone: ZONE })!;
    expect(built.schedule[0].dueOn).toBe('2026-01-30');
    const evaluation = evaluatePlan(built, { owedCents: 40000, today, timeZone: ZONE, failedPlans: 0 });
    expect(evaluation.reasons).not.toContain('first_payment_too_late');
    expect(evaluation.verdict).not.toBe('invalid');
  });

  it('when the debtor writes "I can make monthly payments of $200 for 2 months" on Dec 31, then it is offered back as it is, starting Jan 30, not escalated', () => {
    const step = negotiate({
      texts: ['I can make monthly payments of $200 for 2 months'],
      offeredPlan: null,
      activePlan: null,
      owedCents: 40_000,
      failedPlans: 0,
      language: 'en',
      timeZone: ZONE,
      now: new Date('2025-12-31T18:00:00Z'),
      compliance: DEFAULT_COMPLIANCE,
    });
    expect(step).toMatchObject({ kind: 'offer', negotiation: { kind: 'offer', counter: false, plan: { frequency: 'monthly', count: 2, instalmentCents: 20_000 } } });
    if (step?.negotiation?.kind !== 'offer') throw new Error('expected an offer');
    expect(step.negotiation.plan.schedule.map((instalment) => instalment.dueOn)).toEqual(['2026-01-30', '2026-02-28']);
    expect(step.negotiation.reasons).not.toContain('first_payment_too_late');
  });

  it('when any offer without a date is built on any day under any window for the first payment, then the policy never finds its first date too late or past', () => {
    const day = fc.date({ min: new Date('2024-01-01T12:00:00Z'), max: new Date('2030-12-31T12:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(
        day,
        fc.constantFrom(...PLAN_FREQUENCIES),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        (today, frequency, count, maxDaysToFirstPayment, withDown) => {
          // A down payment due today leaves no day for instalments in a window of today alone (the counter-proposal's case).
          fc.pre(!(withDown && maxDaysToFirstPayment === 0));
          const owedCents = 120_000;
          const policy: PlanPolicy = { ...DEFAULT_PLAN_POLICY, maxDaysToFirstPayment };
          const fields = { instalmentCents: 10_000, frequency, count, downPaymentCents: withDown ? 5_000 : null };
          const built = buildPlan(offer(fields), { owedCents, today, timeZone: ZONE, maxDaysToFirstPayment })!;
          const reasons = evaluatePlan(built, { owedCents, today, timeZone: ZONE, failedPlans: 0 }, policy).reasons;
          expect(reasons).not.toContain('first_payment_too_late');
          expect(reasons).not.toContain('first_payment_in_past');
          expect(reasons).not.toContain('malformed_plan');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('properties', () => {
  it('when any offer is built into a plan, then its schedule sums to the total, never exceeds the balance, dates strictly increase and amounts are positive integers', () => {
    fc.assert(
      fc.property(offers, owed, (parsed, owedCents) => {
        const built = buildPlan(parsed, { owedCents, today: TODAY, timeZone: ZONE });
        if (!built) return;
        const sum = built.schedule.reduce((total, entry) => total + entry.amountCents, 0);
        expect(sum).toBe(built.totalCents);
        expect(built.totalCents).toBeLessThanOrEqual(owedCents);
        expect(built.schedule.length).toBeGreaterThan(0);
        for (const [index, entry] of built.schedule.entries()) {
          expect(Number.isSafeInteger(entry.amountCents) && entry.amountCents > 0).toBe(true);
          expect(entry.dueOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          if (index > 0) expect(entry.dueOn > built.schedule[index - 1].dueOn).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('when a counter-proposal is made for any built plan, then the policy accepts it', () => {
    let counters = 0;
    fc.assert(
      fc.property(offers, owed, fc.integer({ min: 0, max: 4 }), (parsed, owedCents, failedPlans) => {
        const built = buildPlan(parsed, { owedCents, today: TODAY, timeZone: ZONE });
        if (!built) return;
        const evaluation = evaluatePlan(built, ctx(owedCents, failedPlans));
        if (evaluation.counterProposal) {
          counters += 1;
          expect(evaluatePlan(evaluation.counterProposal, ctx(owedCents, failedPlans)).verdict).not.toBe('invalid');
          expect(evaluation.counterProposal.totalCents).toBe(owedCents);
        }
      }),
      RUNS,
    );
    expect(counters).toBeGreaterThan(50); // the property is not vacuous
  });

  it('when a counter-proposal is made under any policy and balance, then that policy accepts it', () => {
    let counters = 0;
    fc.assert(
      fc.property(offers, owed, owed, policies, (parsed, builtFor, owedCents, policy) => {
        const built = buildPlan(parsed, { owedCents: builtFor, today: TODAY, timeZone: ZONE });
        if (!built) return;
        const counter = counterProposal(built, ctx(owedCents), policy);
        if (!counter) return;
        counters += 1;
        expect(evaluatePlan(counter, ctx(owedCents), policy).verdict).not.toBe('invalid');
      }),
      RUNS,
    );
    expect(counters).toBeGreaterThan(50);
  });

  it('when evaluatePlan is given any plan-shaped value and balance, then it never throws', () => {
    const entry = fc.record({ dueOn: fc.oneof(day, fc.string()), amountCents: fc.oneof(fc.integer(), fc.double()) });
    const anyPlan = fc.record({
      frequency: fc.oneof(frequency, fc.constant('yearly' as PlanFrequency)),
      instalmentCents: fc.oneof(fc.integer(), fc.double()),
      count: fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double()),
      downPaymentCents: fc.oneof(fc.integer(), fc.constant(0)),
      totalCents: fc.integer(),
      schedule: fc.array(entry, { maxLength: 20 }),
    });
    fc.assert(
      fc.property(anyPlan, fc.oneof(owed, fc.integer()), fc.integer({ min: 0, max: 5 }), (candidate, owedCents, failedPlans) => {
        const evaluation = evaluatePlan(candidate as PaymentPlan, ctx(owedCents, failedPlans));
        expect(['valid', 'needs_approval', 'invalid']).toContain(evaluation.verdict);
      }),
      RUNS,
    );
  });
});
