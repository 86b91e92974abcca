/**
 * Types of the `conversation` machine. Pure data: no I/O, no imports beyond this folder.
 *
 * Glossary: a *conversation* is one debtor's SMS thread; an *event* is anything that may move it;
 * a *draft* is a proposed reply; an *approval* is a draft waiting for a manager.
 */

export const INTENTS = [
  'payment_plan',
  'promise_to_pay',
  'hardship',
  'dispute',
  'cease',
  'attorney',
  'bankruptcy',
  'opt_out',
  'hostile',
  'question',
  'paid',
  'wrong_number',
  'greeting',
  'other',
] as const;
export type Intent = (typeof INTENTS)[number];

/** Intents that take the conversation away from automation, whatever the confidence. */
export const HUMAN_ONLY_INTENTS: readonly Intent[] = ['cease', 'attorney', 'bankruptcy', 'dispute', 'hostile'];

export type Language = 'en' | 'es';

/** A plan the debtor proposed. Money is integer cents; the model never computes amounts. */
export interface PlanProposal {
  weeklyAmountCents: number;
  weeks: number;
}

export interface Draft {
  /** Stable id of this draft; also the id of its approval-queue item. */
  id: string;
  text: string;
  intents: Intent[];
  confidence: number;
  drafter: 'openai' | 'rules';
  model: string | null;
  /** The debtor's language, which every text to them is written in. */
  language: Language;
  plan: PlanProposal | null;
  /** Set when the draft must not go out on its own (malformed model answer, failed checks…). */
  reviewReason: string | null;
}

export interface InboundMessage {
  text: string;
  at: string;
  messageId: string;
}

export type EscalationReason =
  | Intent
  | 'no_response'
  | 'low_confidence'
  | 'approval_sla'
  | 'manager'
  | 'staff';

export interface ConversationInput {
  conversationId: string;
  tenantId: string;
  phone: string;
}

export interface ConversationContext extends ConversationInput {
  /** Inbound texts not yet answered by a reply that went out. */
  unanswered: InboundMessage[];
  draft: Draft | null;
  /** The text on its way to the SMS Agent, and how it was decided. */
  /** `key` names the message for the SMS Agent: one per draft, so a retried send reconciles instead of resending. */
  outgoing: { text: string; decidedBy: 'auto' | 'manager'; approvalId: string | null; key: string } | null;
  approvalId: string | null;
  slaLapses: number;
  lastSent: { smsId: string; text: string } | null;
  sentCount: number;
  /** Payments reported by the Collections Monitor since the conversation began, integer cents. */
  paidCents: number;
  escalation: { reason: EscalationReason; note: string | null } | null;
  failure: { step: 'drafting' | 'sending'; message: string } | null;
}

export interface SendResult {
  smsId: string;
}

export type ConversationEvent =
  | { type: 'sms.received'; text: string; messageId: string; at: string }
  | { type: 'review.approved'; approvalId: string; managerId: string; text?: string }
  | { type: 'review.modified'; approvalId: string; managerId: string; text: string }
  | { type: 'review.escalated'; approvalId: string; managerId: string; reason?: string }
  | { type: 'staff.escalate'; by: string; reason?: string }
  | { type: 'staff.resume'; by: string }
  | { type: 'staff.close'; by: string; reason?: string }
  | { type: 'payment.received'; amountCents: number; paidInFull: boolean }
  | { type: 'retry'; by: string }
  | { type: 'timer.no_reply' }
  | { type: 'timer.approval_sla' };

/** Events that callers may post through the API (the rest come from jobs and timers). */
export const EXTERNAL_EVENT_TYPES = [
  'sms.received',
  'review.approved',
  'review.modified',
  'review.escalated',
  'staff.escalate',
  'staff.resume',
  'staff.close',
  'payment.received',
  'retry',
] as const;
