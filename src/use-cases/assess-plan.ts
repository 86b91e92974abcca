import { DateTime } from 'luxon';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';
import type { Db } from '../db/database.js';
import { countBrokenPlans } from '../db/payment-plans.repository.js';
import { assertTenantInScope } from '../db/tenant-scope.js';
import type { CollectionsMonitor } from '../adapters/ports.js';
import { conflict } from '../errors.js';
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
import type { ApplyResult } from '../runtime/apply-event.js';
import { applyCommand } from './apply-command.js';
import type { Caller, UseCaseDeps } from './caller.js';
import { loadConversation } from './conversations.js';

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

/**
 * Another service saw a plan in a conversation: judged by our own policy, from the debtor's words. The
 * verdict feeds the conversation only where it must not wait for the next turn: a plan far from anything
 * acceptable hands the conversation to a person (`unrealistic_proposal`). Acceptable plans and
 * counter-proposals are offered by the conversation's own drafting when the debtor's message is applied.
 * The tenant named must be the caller's (403) and the conversation's (404 outside the scope, else 409).
 */
export async function assessDetectedPlan(
  deps: Pick<UseCaseDeps, 'db' | 'runtime'> & { plans: PlanAssessmentDeps },
  caller: Caller,
  detected: {
    conversationId: string;
    tenantId: string;
    messageContent: string;
    aiResponse?: string;
    /** Read only when the verdict escalates: the key of that escalation. */
    idempotencyKey: () => string;
  },
) {
  assertTenantInScope(caller.scope, detected.tenantId);
  const conversation = await loadConversation(deps.db, detected.conversationId, caller.scope);
  if (conversation.tenant_id !== detected.tenantId) {
    throw conflict('conversation_mismatch', 'the conversation belongs to another tenant');
  }
  const assessment = await assessPlanOffer(deps.plans, {
    tenantId: detected.tenantId,
    messageContent: detected.messageContent,
    aiResponse: detected.aiResponse,
  });
  const evaluation = assessment.detected ? assessment.evaluation : null;
  const unrealistic = evaluation?.verdict === 'invalid' && evaluation.counterProposal === null;
  const escalation: ApplyResult | null = unrealistic
    ? await applyCommand(deps, caller, {
        conversationId: conversation.id,
        event: { type: 'staff.escalate', by: caller.subject, reason: 'detected plan is unrealistic', escalationType: 'unrealistic_proposal', severity: 'medium' },
        idempotencyKey: detected.idempotencyKey(),
        ifNotAccepted: 'record',
      })
    : null;
  return { conversation, assessment, escalation };
}

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
