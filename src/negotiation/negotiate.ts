/**
 * One turn of negotiation, decided by code before any drafter writes a word: what the debtor's new
 * messages do to the plan under discussion. Both drafters take the result as given (the model may word
 * other replies, but it never decides or words amounts); routing reads it from the draft.
 *
 * - a yes to the plan our last text offered → `agree` (with its timers' instants);
 * - an offer (or a change to a running plan) → the policy judges it: acceptable → `offer` (restated, to be
 *   confirmed); not acceptable → `offer` of our counter-proposal, or `unrealistic` when none is near;
 * - a no to our offer → `declined`; a yes with nothing on the table, or terms without an amount → `ask_terms`;
 * - anything else → null (the drafters answer as usual).
 */
import { DateTime } from 'luxon';
import type { AgreedPlan, Language, Negotiation } from '../../machines/conversation/conversation.types.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';
import type { CompliancePolicy } from '../policies/compliance.js';
import { parseOffer, type ParsedOffer } from './offer-parser.js';
import { buildPlan } from './plan-builder.js';
import { agreedText, askTermsText, declinedText, offerText } from './plan-messages.js';
import { DEFAULT_PLAN_POLICY, evaluatePlan, type PlanPolicy } from './plan-policy.js';
import { detectPlanReply } from './plan-reply.js';
import { DEFAULT_PLAN_TIMERS, schedulePlanTimers, type PlanTimerPolicy } from './plan-timers.js';

export interface NegotiationInput {
  /** The debtor's unanswered messages, oldest first. */
  texts: readonly string[];
  offeredPlan: PaymentPlan | null;
  activePlan: AgreedPlan | null;
  /** The Collections Monitor's balance, integer cents. */
  owedCents: number;
  /** The monitor's failed plans plus the plans we agreed that were broken. */
  failedPlans: number;
  language: Language;
  timeZone: string;
  now: Date;
  policy?: PlanPolicy;
  timers?: PlanTimerPolicy;
  compliance: CompliancePolicy;
  /** No text of ours in the thread yet: the reply carries the full notice (§1006.18(e)(1)). */
  firstText?: boolean;
  /** Paid since the offered plan was drafted: an agreed plan is credited with it, and its confirmation says what is left. */
  paidSinceOffer?: number;
}

export type NegotiationStep =
  | { kind: 'offer' | 'agree' | 'unrealistic'; negotiation: Negotiation; text: string | null; matched: string[] }
  | { kind: 'declined' | 'ask_terms'; negotiation: null; text: string; matched: string[] };

export function negotiate(input: NegotiationInput): NegotiationStep | null {
  const policy = input.policy ?? DEFAULT_PLAN_POLICY;
  const today = DateTime.fromJSDate(input.now, { zone: input.timeZone }).toISODate()!;
  const context = { owedCents: input.owedCents, today, timeZone: input.timeZone, failedPlans: input.failedPlans, maxDaysToFirstPayment: policy.maxDaysToFirstPayment };
  const last = input.texts.at(-1) ?? '';

  // The latest message that states terms wins: a debtor who revises an offer means the new one.
  let offer: ParsedOffer | null = null;
  for (const text of [...input.texts].reverse()) {
    offer = parseOffer(text, { timeZone: input.timeZone, now: input.now, owedCents: input.owedCents });
    if (offer) break;
  }
  const reply = detectPlanReply(last);

  // detectPlanReply reads no plain yes into a message that states a new amount: that is a change, below.
  if (reply === 'accept' && input.offeredPlan) {
    // Dates of an offer confirmed late may have passed: the policy judges it again, as of today.
    const evaluation = evaluatePlan(input.offeredPlan, context, policy);
    if (evaluation.verdict === 'invalid') return judge(input.offeredPlan, false, ['reply:accept_stale_offer'], input, policy, context);
    const timers = input.timers ?? DEFAULT_PLAN_TIMERS;
    const paidSinceOffer = input.paidSinceOffer ?? 0;
    return {
      kind: 'agree',
      negotiation: {
        kind: 'agree',
        plan: schedulePlanTimers(input.offeredPlan, { timeZone: input.timeZone, now: input.now, policy: timers }),
        ...(paidSinceOffer > 0 ? { paidSinceOffer } : {}),
      },
      text: agreedText(input.offeredPlan, input.language, input.compliance, { firstText: input.firstText }, paidSinceOffer),
      matched: ['reply:accept'],
    };
  }
  if (offer) {
    const plan = buildPlan(offer, context);
    if (plan) return judge(plan, false, offer.matched, input, policy, context);
    // Terms without an amount ("for 8 weeks"): ask for one. An amount with no period is a promise to pay,
    // not a plan: the drafters answer it as such.
    return offer.instalmentCents === null && offer.downPaymentCents === null ? askTerms(input, offer.matched) : null;
  }
  if (reply === 'decline' && input.offeredPlan) {
    return { kind: 'declined', negotiation: null, text: declinedText(input.language, input.compliance, { firstText: input.firstText }), matched: ['reply:decline'] };
  }
  if (reply === 'accept' && !input.activePlan) return askTerms(input, ['reply:accept_nothing_offered']);
  return null;
}

function askTerms(input: NegotiationInput, matched: string[]): NegotiationStep {
  return { kind: 'ask_terms', negotiation: null, text: askTermsText(input.language, input.compliance, { firstText: input.firstText }), matched };
}

/** The policy's verdict on a plan: restate it, counter it, or hand it to a person. */
function judge(
  plan: PaymentPlan,
  counter: boolean,
  matched: string[],
  input: NegotiationInput,
  policy: PlanPolicy,
  context: Parameters<typeof evaluatePlan>[1],
): NegotiationStep {
  const evaluation = evaluatePlan(plan, context, policy);
  if (evaluation.verdict !== 'invalid') {
    return {
      kind: 'offer',
      negotiation: { kind: 'offer', plan, verdict: evaluation.verdict, counter, reasons: evaluation.reasons },
      text: offerText(plan, counter, input.language, input.compliance, { firstText: input.firstText }),
      matched,
    };
  }
  if (!counter && evaluation.counterProposal) {
    const countered = judge(evaluation.counterProposal, true, matched, input, policy, context);
    if (countered.negotiation?.kind === 'offer') countered.negotiation.reasons = [...evaluation.reasons, ...countered.negotiation.reasons];
    return countered;
  }
  return { kind: 'unrealistic', negotiation: { kind: 'unrealistic', reasons: evaluation.reasons }, text: null, matched };
}
