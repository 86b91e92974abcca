/**
 * Payment plans as the machine holds them. Pure data. Money is integer cents; dates are calendar dates
 * (`YYYY-MM-DD`) in the debtor's time zone. Every amount here was computed by code, never by a model
 * (docs/negotiation.md).
 */

export const PLAN_FREQUENCIES = ['weekly', 'biweekly', 'semimonthly', 'monthly'] as const;
export type PlanFrequency = (typeof PLAN_FREQUENCIES)[number];

/** One payment of a plan. */
export interface Instalment {
  /** `YYYY-MM-DD` in the debtor's time zone. */
  dueOn: string;
  amountCents: number;
}

/** A complete plan: what we restate to the debtor, what they confirm, what is stored when agreed. */
export interface PaymentPlan {
  frequency: PlanFrequency;
  /** The regular amount; the last instalment may be smaller (it is the remainder). */
  instalmentCents: number;
  /** Number of regular instalments (a down payment is not counted here). */
  count: number;
  /** Paid first, on `schedule[0].dueOn`; 0 when there is none. */
  downPaymentCents: number;
  /** Sum of the schedule. */
  totalCents: number;
  /** Every payment in date order: the down payment (if any) first, then the instalments. */
  schedule: Instalment[];
}

/**
 * What the plan policy says of a plan (docs/negotiation.md):
 * - `valid`: acceptable, and short enough to be agreed without a manager;
 * - `needs_approval`: acceptable, but a manager must approve before we offer it;
 * - `invalid`: not acceptable; `counterProposal` is the closest plan the policy accepts, or null when
 *   none is realistic (the conversation is then escalated as `unrealistic_proposal`).
 */
export type PlanVerdict = 'valid' | 'needs_approval' | 'invalid';
