/** Payment-plan negotiation: read an offer, build a plan, judge it, restate it, read the answer. Pure. */
export { parseOffer, type OfferContext, type ParsedOffer } from './offer-parser.js';
export {
  MAX_INSTALMENTS,
  buildPlan,
  defaultStart,
  nthDueDate,
  periodWeeks,
  weeklyEquivalentCents,
  weeksOf,
  type PlanBuildContext,
  type Weeks,
} from './plan-builder.js';
export {
  DEFAULT_PLAN_POLICY,
  counterProposal,
  evaluatePlan,
  type PlanEvaluation,
  type PlanPolicy,
  type PlanPolicyContext,
  type PlanReason,
} from './plan-policy.js';
export { detectPlanReply, type PlanReply } from './plan-reply.js';
export { MAX_PLAN_TEXT, describePlan, type PlanLanguage } from './plan-text.js';
export { formatCents, moneyTokenToCents } from './money.js';
export { negotiate, type NegotiationInput, type NegotiationStep } from './negotiate.js';
export { agreedText, askTermsText, declinedText, missedText, offerText, reminderText } from './plan-messages.js';
export { DEFAULT_PLAN_TIMERS, schedulePlanTimers, type PlanTimerPolicy } from './plan-timers.js';
export { parsePlanDirective } from './plan-directive.js';
export { DEFAULT_NEGOTIATION, debtorPlanFacts, type DebtorPlanFacts, type NegotiationSettings } from './settings.js';
