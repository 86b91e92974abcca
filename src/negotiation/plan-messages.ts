/**
 * Every text about a plan that goes to a debtor, composed by code in their language: the restatement of
 * an offer (theirs or our counter-proposal), the confirmation of an agreed plan, the answers to a "no" or
 * to a "yes" with nothing on the table, the reminder before a due date and the news of a missed one.
 * Amounts and dates come from the plan, never from a model. Each text ends with the compliance closing
 * (naming the agency when the policy has one, with the full notice on a first text) and fits the policy's
 * SMS budget: the restatement is shortened (describePlan's terser wordings) to make room.
 */
import type { AgreedPlan } from '../../machines/conversation/conversation.types.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';
import {
  complianceFooter,
  fitsLength,
  maxCharacters,
  textLength,
  type ComplianceLanguage,
  type CompliancePolicy,
  type FooterOptions,
} from '../policies/compliance.js';
import { formatCents } from './money.js';
import { describePlan, formatDueDate } from './plan-text.js';

type Language = ComplianceLanguage;

const ASK_TO_CONFIRM: Record<Language, string> = { en: 'Reply YES to agree.', es: 'Responda SI para aceptar.' };
const COUNTER_LEAD: Record<Language, string> = { en: 'We can offer:', es: 'Podemos ofrecerle:' };
const AGREED_LEAD: Record<Language, string> = { en: 'Thank you, your plan is set:', es: 'Gracias, su plan quedó acordado:' };
const DECLINED: Record<Language, string> = {
  en: 'Understood. What amount could you pay each week, and starting when?',
  es: 'Entendido. ¿Cuánto podría pagar por semana y desde cuándo?',
};
const ASK_TERMS: Record<Language, string> = {
  en: 'Great. How much can you pay each week, and starting when?',
  es: 'Perfecto. ¿Cuánto puede pagar por semana y desde cuándo?',
};

/** The closing for a policy: its agency unless the caller says otherwise. */
function closingFor(language: Language, policy: CompliancePolicy | undefined, closing: FooterOptions): string {
  return complianceFooter(language, { agencyName: policy?.agencyName ?? null, ...closing });
}

/**
 * Lead + the plan in as many words as fit + tail + closing. When even the tersest plan does not fit, the
 * lead goes; a text still too long is left for the compliance check to send to a manager.
 */
function withPlan(
  lead: string | null,
  plan: PaymentPlan,
  tail: string | null,
  language: Language,
  policy: CompliancePolicy,
  closing: FooterOptions,
): string {
  const footer = closingFor(language, policy, closing);
  const compose = (first: string | null) => {
    // Characters are an estimate of the segment budget (the encoding the language's texts end up in); the
    // composed text is then checked against the budget itself.
    const room = maxCharacters(language, policy) - [first, tail, footer].reduce((sum, part) => sum + (part === null ? 0 : textLength(part) + 1), 0);
    return [first, describePlan(plan, language, room), tail, footer].filter((part) => part !== null).join(' ');
  };
  const full = compose(lead);
  return fitsLength(full, policy) || lead === null ? full : compose(null);
}

export function offerText(plan: PaymentPlan, counter: boolean, language: Language, policy: CompliancePolicy, closing: FooterOptions = {}): string {
  return withPlan(counter ? COUNTER_LEAD[language] : null, plan, ASK_TO_CONFIRM[language], language, policy, closing);
}

/** What was paid since the offer and what is still owed, after the plan it is credited to. */
const RECEIVED: Record<Language, (received: string, left: string) => string> = {
  en: (received, left) => `${received} received, ${left} left.`,
  es: (received, left) => `Recibimos ${received}; quedan ${left}.`,
};

export function agreedText(
  plan: PaymentPlan,
  language: Language,
  policy: CompliancePolicy,
  closing: FooterOptions = {},
  paidSinceOffer = 0,
): string {
  const received = paidSinceOffer > 0
    ? RECEIVED[language](formatCents(paidSinceOffer), formatCents(Math.max(0, plan.totalCents - paidSinceOffer)))
    : null;
  return withPlan(AGREED_LEAD[language], plan, received, language, policy, closing);
}

export function declinedText(language: Language, policy?: CompliancePolicy, closing: FooterOptions = {}): string {
  return `${DECLINED[language]} ${closingFor(language, policy, closing)}`;
}

export function askTermsText(language: Language, policy?: CompliancePolicy, closing: FooterOptions = {}): string {
  return `${ASK_TERMS[language]} ${closingFor(language, policy, closing)}`;
}

/** The instalment the plan's timers watch: the oldest one not kept. */
function watched(plan: AgreedPlan) {
  return plan.schedule.find((instalment) => instalment.status !== 'kept') ?? plan.schedule[plan.schedule.length - 1];
}

export function reminderText(plan: AgreedPlan, language: Language, policy?: CompliancePolicy): string {
  const instalment = watched(plan);
  const amount = formatCents(instalment.amountCents - instalment.paidCents);
  const due = formatDueDate(instalment.dueOn, language);
  const body =
    language === 'en' ? `Reminder: your payment of ${amount} is due ${due}.` : `Recordatorio: su pago de ${amount} vence el ${due}.`;
  return `${body} ${closingFor(language, policy, {})}`;
}

export function missedText(plan: AgreedPlan, language: Language, policy?: CompliancePolicy): string {
  const instalment = plan.schedule.find((entry) => entry.status === 'missed') ?? watched(plan);
  const amount = formatCents(instalment.amountCents - instalment.paidCents);
  const due = formatDueDate(instalment.dueOn, language, false);
  const body =
    language === 'en'
      ? `We did not receive your payment of ${amount} due ${due}. Please pay it, or reply to set new terms.`
      : `No recibimos su pago de ${amount} del ${due}. Páguelo o responda para acordar nuevos términos.`;
  return `${body} ${closingFor(language, policy, {})}`;
}
