/**
 * The drafting port: given a conversation's context, propose a reply. Two implementations:
 * `openai` (openai.drafter.ts, a model behind the official SDK) and `rules` (rules.drafter.ts, the
 * deterministic offline default used when no API key is configured).
 *
 * A drafter only proposes. Routing (machines/conversation/routing.ts) decides what goes out, and a
 * proposal with `reviewReason` set never goes out without a manager.
 */
import type { Draft, InboundMessage, Intent, Language, PlanProposal } from '../../../machines/conversation/conversation.types.js';
import type { SmsHistoryMessage, Tenant } from '../ports.js';

export interface DraftRequest {
  conversationId: string;
  tenant: Tenant;
  /** The SMS Agent's history of this thread, oldest first. */
  history: SmsHistoryMessage[];
  /** Inbound texts not yet answered; the reply answers all of them. */
  unanswered: InboundMessage[];
}

export interface DraftUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface DraftProposal {
  text: string;
  intents: Intent[];
  /** In [0, 1]. */
  confidence: number;
  plan: PlanProposal | null;
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

/** The machine's view of a proposal: what routing and sending need, under a draft id, in the debtor's language. */
export function toDraft(proposal: DraftProposal, id: string, language: Language, reviewReason = proposal.reviewReason): Draft {
  return {
    id,
    text: proposal.text,
    intents: proposal.intents,
    confidence: proposal.confidence,
    drafter: proposal.drafter,
    model: proposal.model,
    language,
    plan: proposal.plan,
    reviewReason,
  };
}
