/**
 * The drafting port: given a conversation's context, propose a reply. Two implementations:
 * `openai` (openai.drafter.ts, a model behind the official SDK) and `rules` (rules.drafter.ts, the
 * deterministic offline default used when no API key is configured).
 *
 * A drafter only proposes. What the debtor's words do to a payment plan is decided by code before it runs
 * (src/negotiation, `step`); routing (machines/conversation/routing.ts) decides what goes out, and a
 * proposal with `reviewReason` set never goes out without a manager.
 */
import type { ContactPreference } from '../../policies/contact-preferences.js';
import type { AgreedPlan, Draft, InboundMessage, Intent, Language } from '../../../machines/conversation/conversation.types.js';
import type { PaymentPlan } from '../../../machines/conversation/plan.types.js';
import type { NegotiationStep } from '../../negotiation/index.js';
import type { CheckOptions, CompliancePolicy } from '../../policies/compliance.js';
import type { ThreadMessage } from '../../db/draft-facts.repository.js';
import type { Tenant } from '../ports.js';

export interface DraftRequest {
  conversationId: string;
  tenant: Tenant;
  /**
   * This tenant's texts with this number from our own records, oldest first (readDraftFacts): never another
   * tenant's, and none exchanged before this service recorded them.
   */
  history: ThreadMessage[];
  /**
   * Whether this tenant has had a text of ours reach this number (the drafter activity always says): the
   * first-text notice is decided per (tenant, number). Without it (drafters' own tests), the history decides.
   */
  textedBefore?: boolean;
  /** Inbound texts not yet answered; the reply answers all of them. */
  unanswered: InboundMessage[];
  /** What the new messages do to the plan under discussion, decided by code; null when they do not touch one. */
  step: NegotiationStep | null;
  /** The plan that runs now, if any. */
  plan: AgreedPlan | null;
  /** A contact preference the new messages state (already stored and honoured): the reply acknowledges it. */
  statedPreference?: ContactPreference | null;
}

export interface DraftUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** A plan the model says the debtor stated, kept only to be checked against what code read. */
export interface ModelPlan {
  weeklyAmountCents: number;
  weeks: number;
}

export interface DraftProposal {
  text: string;
  intents: Intent[];
  /** In [0, 1]. */
  confidence: number;
  /** Why the drafter decided what it did (rule ids, model reasons); never message text. */
  reasons: string[];
  /** Set when the proposal must not go out on its own: malformed model answer, failed compliance… */
  reviewReason: string | null;
  /** The model's answer as received, kept for the draft record; null for the rules drafter. */
  rawText: string | null;
  drafter: 'openai' | 'rules';
  model: string | null;
  promptVersion: string | null;
  usage: DraftUsage | null;
  latencyMs: number;
}

export interface Drafter {
  readonly name: 'openai' | 'rules';
  draft(request: DraftRequest, signal?: AbortSignal): Promise<DraftProposal>;
}

/** What a negotiation step adds to a drafter's intents: the plan intent it is about. */
export const STEP_INTENT: Readonly<Record<NegotiationStep['kind'], Intent>> = {
  offer: 'payment_plan',
  unrealistic: 'payment_plan',
  agree: 'plan_accepted',
  ask_terms: 'payment_plan',
  declined: 'plan_declined',
};

/**
 * How sure code is of its own step. An offer the policy accepts, a confirmation and a plain question for
 * terms may go out alone; what else the debtor said (hardship, a question) can still lower the draft's.
 */
export const STEP_CONFIDENCE: Readonly<Record<NegotiationStep['kind'], number>> = {
  offer: 0.9,
  agree: 0.95,
  ask_terms: 0.9,
  declined: 0.9,
  unrealistic: 0.7,
};

/** The machine's view of a proposal: what routing and sending need, under a draft id, in the debtor's language. */
export function toDraft(
  proposal: DraftProposal,
  id: string,
  language: Language,
  step: NegotiationStep | null,
  reviewReason = proposal.reviewReason,
): Draft {
  return {
    id,
    text: proposal.text,
    intents: proposal.intents,
    confidence: proposal.confidence,
    drafter: proposal.drafter,
    model: proposal.model,
    language,
    negotiation: step?.negotiation ?? null,
    reviewReason,
  };
}

/**
 * No text of ours in the thread yet: the reply is our first communication and carries the full notice
 * (§1006.18(e)(1)). Decided by `textedBefore` (per tenant and number); without it, by the thread's texts.
 */
export function isFirstText(request: Pick<DraftRequest, 'history' | 'textedBefore'>): boolean {
  if (request.textedBefore !== undefined) return !request.textedBefore;
  return !request.history.some((message) => message.direction === 'outbound');
}

function planAmounts(plan: Pick<PaymentPlan, 'instalmentCents' | 'downPaymentCents' | 'totalCents' | 'schedule'>): number[] {
  return [plan.instalmentCents, plan.downPaymentCents, plan.totalCents, ...plan.schedule.map((instalment) => instalment.amountCents)];
}

/**
 * Amounts a reply may state besides the balance: those of the plan code decided this turn (a restatement,
 * a counter-offer, a confirmation) and of the plan that runs (what is left of each instalment).
 */
export function allowedAmounts(request: Pick<DraftRequest, 'step' | 'plan'>): number[] {
  const amounts: number[] = [];
  const negotiation = request.step?.negotiation;
  if (negotiation?.kind === 'offer' || negotiation?.kind === 'agree') amounts.push(...planAmounts(negotiation.plan));
  // A confirmation states what was paid since the offer and what is left of the plan.
  if (negotiation?.kind === 'agree' && negotiation.paidSinceOffer) {
    amounts.push(negotiation.paidSinceOffer, Math.max(0, negotiation.plan.totalCents - negotiation.paidSinceOffer));
  }
  if (request.plan) {
    amounts.push(...planAmounts(request.plan), request.plan.paidCents);
    amounts.push(...request.plan.schedule.map((instalment) => instalment.amountCents - instalment.paidCents));
  }
  return amounts;
}

/** What the compliance check of a draft needs to know about its request: language, first text, ledger, plan amounts. */
export function draftCheckOptions(request: DraftRequest, policy: CompliancePolicy): CheckOptions {
  return {
    language: request.tenant.language,
    policy,
    firstText: isFirstText(request),
    ledgerCents: request.tenant.amountOwedCents,
    allowedCents: allowedAmounts(request),
  };
}
