/**
 * Types of the `conversation` machine. Pure data: no I/O, no imports beyond this folder.
 *
 * Glossary: a *conversation* is one debtor's SMS thread; an *event* is anything that may move it;
 * a *draft* is a proposed reply; an *approval* is a draft waiting for a manager; an *offer* is a plan our
 * text proposed and asked the debtor to confirm; an *agreed plan* is one they confirmed.
 */
import type { Instalment, PaymentPlan, PlanVerdict } from './plan.types.js';

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
  'threat_to_sue',
  'regulator_complaint',
  'supervisor_request',
  'harassment_claim',
  'question',
  'paid',
  'wrong_number',
  'greeting',
  'plan_accepted',
  'plan_declined',
  'other',
] as const;
export type Intent = (typeof INTENTS)[number];

/** Intents that take the conversation away from automation, whatever the confidence. */
/** In order of severity: the first one a draft carries is its escalation reason. */
export const HUMAN_ONLY_INTENTS: readonly Intent[] = [
  'cease',
  'attorney',
  'bankruptcy',
  'threat_to_sue',
  'regulator_complaint',
  'harassment_claim',
  'dispute',
  'supervisor_request',
  'hostile',
];

export type Language = 'en' | 'es';

/**
 * What a draft does about a payment plan, decided by code (the plan policy), never by a model:
 * - `offer`: the text restates a plan (the debtor's, or our counter-proposal) and asks them to confirm;
 * - `agree`: the debtor accepted the plan we offered; it is agreed now and the text confirms it;
 * - `unrealistic`: no plan the policy accepts is near what they offered; a person takes over.
 */
export type Negotiation =
  | { kind: 'offer'; plan: PaymentPlan; verdict: Exclude<PlanVerdict, 'invalid'>; counter: boolean; reasons: string[] }
  | { kind: 'agree'; plan: ScheduledPlan; paidSinceOffer?: number }
  | { kind: 'unrealistic'; reasons: string[] };

/** A plan with the instants its timers fire at, computed at the edge in the debtor's time zone. */
export interface ScheduledPlan extends Omit<PaymentPlan, 'schedule'> {
  timeZone: string;
  /** `remindAt` is null when the reminder's moment had passed when the plan was agreed (nothing to remind of). */
  schedule: Array<Instalment & { remindAt: string | null; deadlineAt: string }>;
  /** When a plan whose last instalment was missed counts as missed twice. */
  finalDeadlineAt: string;
}

export type InstalmentStatus = 'due' | 'kept' | 'missed';

/** The plan the debtor agreed to, as it runs: what is paid, kept and missed. */
export interface AgreedPlan extends Omit<ScheduledPlan, 'schedule'> {
  /** The id of the draft that agreed it; also the id of its payment_plans row. */
  id: string;
  status: 'active' | 'completed' | 'broken' | 'replaced' | 'cancelled';
  schedule: Array<ScheduledPlan['schedule'][number] & { paidCents: number; status: InstalmentStatus }>;
  paidCents: number;
  missed: number;
  /** Index of the last instalment a reminder went out for; -1 before the first. */
  remindedThrough: number;
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
  /** The debtor's zone as the Collections Monitor gave it (null: unknown); the send-time gate reads it. */
  timeZone?: string | null;
  /** What this draft does about a payment plan; null when it does not touch one. */
  negotiation: Negotiation | null;
  /** Set when the draft must not go out on its own (malformed model answer, failed checks…). */
  reviewReason: string | null;
  /**
   * A number nobody has confirmed: `ask`, the draft is the identity question (account details withheld);
   * `claimed`, the number answered that question and a manager must verify it. Absent on earlier drafts.
   */
  identity?: 'ask' | 'claimed' | null;
}

/** A debtor's message as the drafter reads it (from the messages table, never from the snapshot). */
export interface InboundMessage {
  text: string;
  at: string;
  messageId: string;
}

/**
 * The debtor's messages not yet answered by a reply that went out: how many, and when the newest arrived.
 * Their texts are in the messages table (every accepted `sms.received` is one row there), so the stored
 * state is the same size however much the debtor writes; the drafter reads the newest ones at draft time.
 */
export interface Unanswered {
  count: number;
  /** What a reply answers (the reply window of the send-time gate); null when nothing is unanswered. */
  latestAt: string | null;
}

export const NOTHING_UNANSWERED: Unanswered = { count: 0, latestAt: null };

export type EscalationReason =
  | Intent
  | 'no_response'
  | 'low_confidence'
  | 'approval_sla'
  | 'manager'
  | 'staff'
  | 'unrealistic_proposal'
  | 'missed_payments'
  /** A payment above what was left of the running plan: money is owed back. */
  | 'overpaid'
  /** A number not on record answered the identity question: a manager verifies (or rejects) the name it gave. */
  | 'identity_verification'
  | EscalationType;

/** What a person or a service may name when escalating (the collections dashboard's list). */
export const ESCALATION_TYPES = [
  'hostile_language',
  'payment_dispute',
  'unrealistic_proposal',
  'no_response',
  'cease_request',
  'attorney',
  'bankruptcy',
  'hardship',
  'manual',
] as const;
export type EscalationType = (typeof ESCALATION_TYPES)[number];
export type EscalationSeverity = 'low' | 'medium' | 'high' | 'critical';

export interface ConversationInput {
  conversationId: string;
  tenantId: string;
  phone: string;
}

export interface ConversationContext extends ConversationInput {
  unanswered: Unanswered;
  draft: Draft | null;
  /** The text on its way to the SMS Agent, and how it was decided. */
  /** `key` names the message for the SMS Agent: one per draft, so a retried send reconciles instead of resending. */
  outgoing: {
    text: string;
    decidedBy: 'auto' | 'manager';
    approvalId: string | null;
    key: string;
    /** The plan this text offers, if any: it becomes `offeredPlan` once the text is sent. */
    offer: PaymentPlan | null;
    /** When the latest debtor message this text answers arrived: a reply may go out once outside quiet hours. */
    inReplyTo?: string | null;
    /** Held back by quiet hours until this instant, when the send is tried (and checked) again. */
    deferredUntil?: string | null;
  } | null;
  approvalId: string | null;
  slaLapses: number;
  lastSent: { smsId: string; text: string } | null;
  sentCount: number;
  /** Payments reported by the Collections Monitor since the conversation began, integer cents. */
  paidCents: number;
  /**
   * Payments since the plan now on the table was drafted (its balance was read then): credited to that plan
   * when the debtor agrees to it, so money that arrives before the "yes" is not lost to the plan.
   */
  paidSinceOffer: number;
  escalation: { reason: EscalationReason; note: string | null; severity?: EscalationSeverity | null } | null;
  /** The plan our last text offered and asked the debtor to confirm; any other text we send clears it. */
  offeredPlan: PaymentPlan | null;
  /** The agreed plan while it runs (and after, with its final status). */
  plan: AgreedPlan | null;
  /** A manager confirmed that the number texting is the debtor's (a number on the tenant's record needs no confirmation). */
  identityVerified: boolean;
  /**
   * The debtor disputed the debt (or said it is paid): collection stops until a manager records that it was
   * verified (`debt.verified`); `staff.resume` alone does not restart it (FDCPA §809(b), Reg F §1006.38).
   */
  disputed: boolean;
  /** How many of the debtor's messages only the identity question answered: their reply is drafted once the number is verified. */
  identityHeld: number;
  /** The number answered the identity question; a manager's `identity.verified` or `identity.rejected` decides. */
  identityClaimed: boolean;
  /** Who closed the conversation and why, when staff did. */
  closure: { by: string; reason: string | null } | null;
  failure: { step: 'drafting' | 'sending'; message: string } | null;
}

/** The sender's answer: handed to the SMS Agent, or held back until an allowed time (quiet hours). */
export type SendResult = { smsId: string } | { deferredUntil: string; reason: string };

export type ConversationEvent =
  | { type: 'sms.received'; text: string; messageId: string; at: string }
  | { type: 'review.approved'; approvalId: string; managerId: string; text?: string }
  | { type: 'review.modified'; approvalId: string; managerId: string; text: string }
  | { type: 'review.escalated'; approvalId: string; managerId: string; reason?: string }
  | { type: 'review.rejected'; approvalId: string; managerId: string; reason?: string }
  | { type: 'staff.escalate'; by: string; reason?: string; escalationType?: EscalationType; severity?: EscalationSeverity }
  | { type: 'staff.resume'; by: string }
  | { type: 'staff.close'; by: string; reason?: string }
  | { type: 'payment.received'; amountCents: number; paidInFull: boolean }
  | { type: 'retry'; by: string }
  | { type: 'timer.no_reply' }
  | { type: 'timer.approval_sla' }
  | { type: 'timer.plan_reminder' }
  | { type: 'timer.plan_deadline' }
  | { type: 'timer.send_window' }
  | { type: 'identity.verified'; by: string }
  | { type: 'identity.rejected'; by: string }
  | { type: 'debt.verified'; by: string };

/** Events that callers may post through the API (the rest come from jobs and timers). */
export const EXTERNAL_EVENT_TYPES = [
  'sms.received',
  'review.approved',
  'review.modified',
  'review.escalated',
  'review.rejected',
  'staff.escalate',
  'staff.resume',
  'staff.close',
  'payment.received',
  'retry',
  'identity.verified',
  'identity.rejected',
  'debt.verified',
] as const;
