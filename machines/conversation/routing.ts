import { HUMAN_ONLY_INTENTS, type Draft } from './conversation.types.js';

/** Where a fresh draft goes. Hard rules first (opt-out, human-only intents, an identity claim to verify), then what the plan policy decided, then confidence (docs/architecture.md). */
export type Route = 'optOut' | 'escalate' | 'verifyIdentity' | 'unrealistic' | 'agreePlan' | 'review' | 'autoSend' | 'lowConfidence';

export interface RoutingPolicy {
  /** Strictly above this, a draft goes out on its own. */
  autoSendAbove: number;
  /** At or above this (and not auto), a manager must approve; below it, a person takes over. */
  reviewAtLeast: number;
}

export const DEFAULT_ROUTING: RoutingPolicy = { autoSendAbove: 0.85, reviewAtLeast: 0.6 };

export function routeDraft(draft: Draft, policy: RoutingPolicy): Route {
  if (draft.intents.includes('opt_out')) return 'optOut';
  if (draft.intents.some((intent) => HUMAN_ONLY_INTENTS.includes(intent))) return 'escalate';
  // A number not on record answered the identity question: a manager verifies it before anything else is said.
  if (draft.identity === 'claimed') return 'verifyIdentity';
  const negotiation = draft.negotiation;
  if (negotiation?.kind === 'unrealistic') return 'unrealistic';
  // The debtor said yes to a plan we offered, which the policy or a manager had cleared: it is agreed now,
  // and the confirmation (composed by code) goes out.
  if (negotiation?.kind === 'agree') return 'agreePlan';
  // A draft flagged for review (malformed model answer, failed checks) waits for a manager whatever its confidence,
  // and so does an offer of a plan the policy says a manager must approve.
  if (draft.reviewReason !== null || negotiation?.verdict === 'needs_approval') return 'review';
  if (draft.confidence < policy.reviewAtLeast) return 'lowConfidence';
  return draft.confidence > policy.autoSendAbove ? 'autoSend' : 'review';
}

/** The draft's first human-only intent is a dispute (a more severe one, such as an attorney, decides otherwise). */
export function disputesTheDebt(draft: Draft): boolean {
  return !draft.intents.includes('opt_out') && draft.intents.find((intent) => HUMAN_ONLY_INTENTS.includes(intent)) === 'dispute';
}

/** The first human-only intent of a draft, used as the escalation reason. */
export function humanOnlyIntent(draft: Draft) {
  return draft.intents.find((intent) => HUMAN_ONLY_INTENTS.includes(intent)) ?? 'hostile';
}
