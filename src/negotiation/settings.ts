import { DEFAULT_PLAN_POLICY, type PlanPolicy } from './plan-policy.js';
import { DEFAULT_PLAN_TIMERS, type PlanTimerPolicy } from './plan-timers.js';

/** A deployment's negotiation settings (src/config.ts reads them; docs/negotiation.md lists the defaults). */
export interface NegotiationSettings {
  policy: PlanPolicy;
  timers: PlanTimerPolicy;
  /** The debtor's zone when the Collections Monitor does not say. */
  defaultTimeZone: string;
}

export const DEFAULT_NEGOTIATION: NegotiationSettings = {
  policy: DEFAULT_PLAN_POLICY,
  timers: DEFAULT_PLAN_TIMERS,
  defaultTimeZone: 'America/New_York',
};

/** What the policy needs to know of a debtor: the balance, their calendar day, their failed plans. */
export interface DebtorPlanFacts {
  owedCents: number;
  timeZone: string;
  failedPlans: number;
}

export function debtorPlanFacts(
  tenant: { amountOwedCents: number; timeZone: string | null; failedPaymentPlans: number },
  brokenPlans: number,
  settings: NegotiationSettings,
): DebtorPlanFacts {
  return {
    owedCents: tenant.amountOwedCents,
    timeZone: tenant.timeZone ?? settings.defaultTimeZone,
    // The monitor's count, plus the plans we agreed that the debtor broke.
    failedPlans: tenant.failedPaymentPlans + brokenPlans,
  };
}
