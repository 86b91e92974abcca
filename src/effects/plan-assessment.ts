import { DateTime } from 'luxon';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';
import type { Db } from '../db/database.js';
import { countBrokenPlans } from '../db/payment-plans.repository.js';
import {
  buildPlan,
  debtorPlanFacts,
  evaluatePlan,
  parseOffer,
  parsePlanDirective,
  type NegotiationSettings,
  type ParsedOffer,
  type PlanEvaluation,
} from '../negotiation/index.js';
import type { CollectionsMonitor } from './ports.js';

/**
 * A plan some other service thinks it saw (`POST /orchestrate/payment-plan-detected`), judged the way the
 * drafter activity judges the debtor's own words: read by code from the debtor's message first; the
 * model's answer only counts where the message says nothing, and then never as agreeable on its own.
 */

export interface PlanAssessmentDeps {
  db: Db;
  collectionsMonitor: CollectionsMonitor;
  negotiation: NegotiationSettings;
  clock: () => number;
}

export type PlanAssessment =
  | { detected: false }
  | {
      detected: true;
      /** Where the terms were read: the debtor's message, or (only when it has none) the model's answer. */
      source: 'message' | 'ai_response';
      /** Null when the terms do not make a plan (an amount with no period, a count with no amount). */
      plan: PaymentPlan | null;
      evaluation: PlanEvaluation | null;
      /** `ai_plan_differs` when the model's plan is not the debtor's; `not_in_message` when only the model has one. */
      flags: string[];
    };

export async function assessPlanOffer(
  deps: PlanAssessmentDeps,
  input: { tenantId: string; messageContent: string; aiResponse?: string },
  signal?: AbortSignal,
): Promise<PlanAssessment> {
  const [tenant, brokenPlans] = await Promise.all([deps.collectionsMonitor.getTenant(input.tenantId, signal), countBrokenPlans(deps.db, input.tenantId)]);
  const facts = debtorPlanFacts(tenant, brokenPlans, deps.negotiation);
  const now = new Date(deps.clock());
  const today = DateTime.fromJSDate(now, { zone: facts.timeZone }).toISODate()!;
  const read = (text: string) => parsePlanDirective(text) ?? parseOffer(text, { timeZone: facts.timeZone, now, owedCents: facts.owedCents });

  const fromMessage = read(input.messageContent);
  const fromModel = input.aiResponse ? read(input.aiResponse) : null;
  const offer = fromMessage ?? fromModel;
  if (!offer) return { detected: false };

  const flags: string[] = [];
  if (fromMessage && fromModel && !sameTerms(fromMessage, fromModel)) flags.push('ai_plan_differs');
  if (!fromMessage) flags.push('not_in_message');
  const context = {
    owedCents: facts.owedCents,
    today,
    timeZone: facts.timeZone,
    failedPlans: facts.failedPlans,
    maxDaysToFirstPayment: deps.negotiation.policy.maxDaysToFirstPayment,
  };
  const plan = buildPlan(offer, context);
  if (!plan) return { detected: true, source: fromMessage ? 'message' : 'ai_response', plan: null, evaluation: null, flags };
  const evaluation = evaluatePlan(plan, context, deps.negotiation.policy);
  // Terms only a model wrote are never agreeable without a person.
  if (!fromMessage && evaluation.verdict === 'valid') {
    return { detected: true, source: 'ai_response', plan, evaluation: { ...evaluation, verdict: 'needs_approval' }, flags };
  }
  return { detected: true, source: fromMessage ? 'message' : 'ai_response', plan, evaluation, flags };
}

function sameTerms(a: ParsedOffer, b: ParsedOffer): boolean {
  return a.instalmentCents === b.instalmentCents && (a.count === null || b.count === null || a.count === b.count) && (a.frequency ?? 'weekly') === (b.frequency ?? 'weekly');
}
