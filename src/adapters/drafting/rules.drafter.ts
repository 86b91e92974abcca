/**
 * The deterministic offline drafter: keyword rules (English and Spanish) and fixed templates. It is the
 * embedded default when no OPENAI_API_KEY is set, and it says so: drafter 'rules', model null, no usage.
 *
 * Confidence is a fixed number per intent, chosen against the default routing (auto-send > 0.85,
 * approval 0.60–0.85, escalate < 0.60): plain acknowledgements (greeting, question, promise to pay) go
 * out on their own; anything that touches money or circumstances (plan, hardship, "already paid") or that
 * no rule recognised waits for a manager; a possible wrong number goes to a person. With several intents
 * the lowest confidence wins, so the most delicate part of a message decides.
 *
 * Plans are not read here: what the debtor's words do to a plan (an offer, a yes, a no) is decided by code
 * before any drafter runs (src/negotiation, the request's `step`), and its text is taken as it is.
 */
import { HUMAN_ONLY_INTENTS, type Intent } from '../../../machines/conversation/conversation.types.js';
import {
  DEFAULT_COMPLIANCE,
  checkOutgoingText,
  complianceFooter,
  foldText,
  type CompliancePolicy,
} from '../../policies/compliance.js';
import { detectLegalIntents } from '../../policies/legal-intents.js';
import { acknowledgePreference, type ContactPreference } from '../../policies/contact-preferences.js';
import type { Logger } from '../../logger.js';
import type { Tenant } from '../ports.js';
import { formatCents } from '../../negotiation/index.js';
import {
  STEP_CONFIDENCE,
  STEP_INTENT,
  draftCheckOptions,
  type DraftProposal,
  type DraftRequest,
  type Drafter,
} from './drafter.js';

// ---------------------------------------------------------------------------------------------------
// Intent rules. Opt-out and the human-only intents come from src/policies/legal-intents.ts (the same rules
// back up the OpenAI drafter); the rest are here. Patterns run on folded text (lower case, no accents,
// curly quotes straightened) unless marked `raw`.

interface IntentRule {
  intent: Intent;
  id: string;
  pattern: RegExp;
  raw?: boolean;
}


const RULES: readonly IntentRule[] = [
  // wrong_number
  // "wrong person" is a dispute (legal-intents.ts): whoever says it may be the debtor denying the debt.
  { intent: 'wrong_number', id: 'wrong_number.en', pattern: /\bwrong number\b|\bno one (here )?(by that name|named)\b|\bnobody (here )?(by that name|named)\b|\bdon't know (this|that|who that) (person|is)\b/ },
  { intent: 'wrong_number', id: 'wrong_number.es', pattern: /\b(numero equivocado|equivoc\w* de numero|no conozco a (esa|esta) persona|no soy (esa|esta) persona)\b/ },
  // paid
  { intent: 'paid', id: 'paid.already', pattern: /\balready (paid|sent (it|the payment)|made (the|a|my) payment)\b|\bpaid (it )?(off|in full)\b|\b(i|we) (have )?paid (it|this|that|you|the)\b/ },
  { intent: 'paid', id: 'paid.es', pattern: /\bya (pague|page|lo pague|la pague|hice el pago|realice el pago|esta pagad[oa]|se pago)\b|\b(ya )?(hice|realice|mande|envie) el pago\b/ },
  // payment_plan
  { intent: 'payment_plan', id: 'payment_plan.plan', pattern: /\b(payment plan|installments?|in (parts|payments)|pay (it )?(off )?over time)\b/ },
  { intent: 'payment_plan', id: 'payment_plan.period', pattern: /\b(a|per|each|every) (week|wk|month)\b|\b(bi)?weekly\b|\bmonthly\b|\/ ?(wk|week|mo|month)\b/ },
  { intent: 'payment_plan', id: 'payment_plan.es', pattern: /\b(plan de pagos?|cuotas|pagos? (semanales|mensuales|parciales)|en partes|abonos?|mensualidades)\b/ },
  { intent: 'payment_plan', id: 'payment_plan.es_period', pattern: /\b(por semana|a la semana|cada semana|semanal(es|mente)?|al mes|por mes|cada mes|mensual(es|mente)?)\b/ },
  // hardship
  { intent: 'hardship', id: 'hardship.job', pattern: /\b(lost|lose|losing) (my |our )?(job|work|income|hours)\b|\b(unemployed|laid off|out of work|got fired|was fired|no income)\b/ },
  { intent: 'hardship', id: 'hardship.health', pattern: /\b(sick|ill|hospital\w*|surgery|medical|injur(y|ed)|disabled|cancer|pregnant)\b/ },
  { intent: 'hardship', id: 'hardship.money', pattern: /\b(can't|cant|cannot|unable to) (afford|pay)\b|\b(struggling|hard times?|hardship|broke|no money|divorce|passed away|funeral)\b/ },
  { intent: 'hardship', id: 'hardship.es_job', pattern: /\bperdi (mi |el )?(trabajo|empleo)\b|\b(sin|no tengo) (trabajo|empleo|dinero)\b|\b(desemplead[oa]|me despidieron|me corrieron)\b/ },
  { intent: 'hardship', id: 'hardship.es_other', pattern: /\b(enferm[oa]|enfermedad|hospital\w*|cirugia|no puedo pagar|dificultad(es)?|fallecio|embarazada|divorcio)\b/ },
  // promise_to_pay
  { intent: 'promise_to_pay', id: 'promise_to_pay.will_pay', pattern: /\bi('ll| will| am going to|'m going to|m going to| gonna| shall) (make (a |the |my )?)?pay(ment)?\b|\bwill (send|make) (the |a )?payment\b/ },
  { intent: 'promise_to_pay', id: 'promise_to_pay.when', pattern: /\bpay (it |you |this |the balance )?(on|by|this|next|tomorrow|today|tonight) ?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|week|month|payday)?\b/ },
  { intent: 'promise_to_pay', id: 'promise_to_pay.es', pattern: /\b(pagare|voy a pagar|le pago|les pago|te pago|hare el pago|depositare|mandare el pago|le (deposito|mando) el (viernes|lunes|martes|miercoles|jueves|sabado|domingo))\b/ },
  // question
  { intent: 'question', id: 'question.mark', pattern: /[?¿]/ },
  { intent: 'question', id: 'question.wh', pattern: /^(what|how|why|when|where|who|which|can i|could i|is there|do i|does)\b/ },
  { intent: 'question', id: 'question.es_wh', pattern: /^(cuanto|cuanta|como|cuando|donde|por que|quien)\b/ },
  // greeting
  { intent: 'greeting', id: 'greeting.en', pattern: /^(hi|hello|hey|good (morning|afternoon|evening)|greetings)\b/ },
  { intent: 'greeting', id: 'greeting.es', pattern: /^(hola|buen(os)? dias?|buenas( tardes| noches)?|saludos)\b/ },
];

/** Order of precedence: the first detected intent picks the template. */
const PRECEDENCE: readonly Intent[] = [
  'opt_out',
  // The human-only intents, most severe first: the one that escalates also picks the acknowledgement.
  ...HUMAN_ONLY_INTENTS,
  'wrong_number',
  'paid',
  'plan_declined',
  'plan_accepted',
  'payment_plan',
  'hardship',
  'promise_to_pay',
  'question',
  'greeting',
  'other',
];

/** Fixed per intent; see the header for the reasoning. Human-only intents route by hard rule whatever this says. */
export const RULES_CONFIDENCE: Readonly<Record<Intent, number>> = Object.freeze({
  opt_out: 0.95,
  cease: 0.9,
  attorney: 0.9,
  bankruptcy: 0.9,
  dispute: 0.85,
  hostile: 0.8,
  threat_to_sue: 0.9,
  regulator_complaint: 0.9,
  harassment_claim: 0.9,
  supervisor_request: 0.85,
  greeting: 0.9,
  question: 0.9,
  promise_to_pay: 0.9,
  payment_plan: 0.7,
  hardship: 0.7,
  paid: 0.7,
  other: 0.65,
  wrong_number: 0.5,
  plan_accepted: 0.9,
  plan_declined: 0.9,
});

export interface IntentDetection {
  /** In precedence order; ['other'] when no rule matched. */
  intents: Intent[];
  /** Rule ids that matched, e.g. 'rule:opt_out.keyword'. */
  matched: string[];
}

export function detectIntents(texts: readonly string[]): IntentDetection {
  const found = new Set<Intent>();
  const matched: string[] = [];
  const note = (intent: Intent, id: string) => {
    found.add(intent);
    if (!matched.includes(`rule:${id}`)) matched.push(`rule:${id}`);
  };
  const legal = detectLegalIntents(texts);
  for (const intent of legal.intents) found.add(intent);
  matched.push(...legal.matched);
  for (const text of texts) {
    const folded = foldText(text);
    for (const rule of RULES) {
      if (rule.pattern.test(rule.raw ? text : folded)) note(rule.intent, rule.id);
    }
  }
  const intents = PRECEDENCE.filter((intent) => found.has(intent));
  return intents.length > 0 ? { intents, matched } : { intents: ['other'], matched: ['rule:none'] };
}

// ---------------------------------------------------------------------------------------------------
// Templates. Bodies stay short enough that body + closing fits the default SMS budget (4 segments) with a
// 12-letter name and a seven-digit balance, in both languages, with the first text's full notice and a
// 40-character agency name; candidates without the name, then without the amount, are tried if not.

interface Fill {
  name: string | null;
  amount: string | null;
}

type Template = (fill: Fill) => string;
const comma = (name: string | null) => (name ? `, ${name}` : '');
const space = (name: string | null) => (name ? ` ${name}` : '');

const TEMPLATES: Record<'en' | 'es', Record<Intent, Template>> = {
  en: {
    greeting: ({ name, amount }) => `Hi${space(name)}, thanks for getting back to us.${amount ? ` Your balance is ${amount}.` : ''} How would you like to settle it?`,
    question: ({ name, amount }) => `Happy to help${comma(name)}.${amount ? ` Your balance is ${amount}.` : ''} You can pay in full or propose a weekly amount and number of weeks.`,
    promise_to_pay: ({ name, amount }) => `Thank you${comma(name)}. We noted your promise to pay${amount ? ` your balance of ${amount}` : ''}. Reply here once it is paid.`,
    payment_plan: ({ name }) => `Thanks${comma(name)}. Please tell us how much you can pay each week and for how many weeks.`,
    plan_accepted: ({ name }) => `Great${comma(name)}. How much can you pay each week, and starting when?`,
    plan_declined: ({ name }) => `Understood${comma(name)}. What amount could you pay each week, and starting when?`,
    hardship: ({ name }) => `Sorry to hear that${comma(name)}. We can find a plan that fits. What could you pay each week, and for how many weeks?`,
    paid: ({ name }) => `Thank you${comma(name)}. We will check our records for your payment and get back to you.`,
    other: ({ name, amount }) => `Thanks for your message${comma(name)}.${amount ? ` Your balance is ${amount}.` : ''} How would you like to resolve it?`,
    // No name, no amount: whoever holds this phone may not be the debtor.
    wrong_number: () => 'Sorry for the trouble. We will review our records for this number.',
    opt_out: () => 'You will not receive more messages from us.',
    cease: () => 'Understood. We noted your request and a team member will handle your account.',
    attorney: () => "Thank you. Please send your attorney's name and phone number and we will contact them.",
    bankruptcy: () => 'Thank you. Please send your bankruptcy case number so we can update your account.',
    dispute: () => 'Thank you. We noted your dispute and a team member will review your account.',
    hostile: () => 'We understand you are upset. A team member will review your account.',
    // Neutral acknowledgements: these conversations are escalated, a person answers the substance.
    threat_to_sue: () => 'Thank you. We noted your message and a team member will review your account.',
    regulator_complaint: () => 'Thank you. We noted your concern and a team member will review your account.',
    supervisor_request: () => 'Understood. We will pass your request to a supervisor.',
    harassment_claim: () => 'We are sorry. We noted your concern and a team member will review your account.',
  },
  es: {
    greeting: ({ name, amount }) => `Hola${space(name)}, gracias por responder.${amount ? ` Su saldo es de ${amount}.` : ''} ¿Cómo desea pagarlo?`,
    question: ({ name, amount }) => `Con gusto le ayudamos${comma(name)}.${amount ? ` Su saldo es de ${amount}.` : ''} Puede pagar todo o proponer un pago semanal.`,
    promise_to_pay: ({ name, amount }) => `Gracias${comma(name)}. Anotamos su promesa de pago${amount ? ` de ${amount}` : ''}. Avísenos cuando pague.`,
    payment_plan: ({ name }) => `Gracias${comma(name)}. Díganos cuánto puede pagar por semana y por cuántas semanas.`,
    plan_accepted: ({ name }) => `Perfecto${comma(name)}. ¿Cuánto puede pagar por semana y desde cuándo?`,
    plan_declined: ({ name }) => `Entendido${comma(name)}. ¿Cuánto podría pagar por semana y desde cuándo?`,
    hardship: ({ name }) => `Lo sentimos${comma(name)}. Podemos buscar un plan a su medida. ¿Cuánto podría pagar por semana?`,
    paid: ({ name }) => `Gracias${comma(name)}. Revisaremos nuestros registros de su pago y le responderemos.`,
    other: ({ name, amount }) => `Gracias por su mensaje${comma(name)}.${amount ? ` Su saldo es de ${amount}.` : ''} ¿Cómo desea resolverlo?`,
    wrong_number: () => 'Disculpe la molestia. Revisaremos nuestros registros de este número.',
    opt_out: () => 'No recibirá más mensajes nuestros.',
    cease: () => 'Entendido. Anotamos su solicitud y alguien de nuestro equipo atenderá su cuenta.',
    attorney: () => 'Gracias. Envíenos el nombre y teléfono de su abogado y lo contactaremos.',
    bankruptcy: () => 'Gracias. Envíenos el número de caso de su quiebra para actualizar su cuenta.',
    dispute: () => 'Gracias. Anotamos su disputa y alguien de nuestro equipo revisará su cuenta.',
    hostile: () => 'Entendemos su molestia. Alguien de nuestro equipo revisará su cuenta.',
    threat_to_sue: () => 'Gracias. Anotamos su mensaje y alguien de nuestro equipo revisará su cuenta.',
    regulator_complaint: () => 'Gracias. Anotamos su inquietud y alguien de nuestro equipo revisará su cuenta.',
    supervisor_request: () => 'Entendido. Pasaremos su solicitud a un supervisor.',
    harassment_claim: () => 'Lo sentimos. Anotamos su inquietud y alguien de nuestro equipo revisará su cuenta.',
  },
};

/** The debtor's first name, only if it is a plain short word (anything else reads oddly in a template). */
export function shortFirstName(fullName: string): string | null {
  const first = fullName.trim().split(/\s+/)[0] ?? '';
  return /^\p{L}[\p{L}'’-]{0,11}$/u.test(first) ? first : null;
}

export function composeReply(
  intent: Intent,
  tenant: Pick<Tenant, 'language' | 'tenantName' | 'amountOwedCents'>,
  policy: CompliancePolicy = DEFAULT_COMPLIANCE,
  options: { firstText?: boolean; withoutAmount?: boolean; preference?: ContactPreference | null } = {},
): { text: string; violations: ReturnType<typeof checkOutgoingText> } {
  const language = tenant.language;
  const name = shortFirstName(tenant.tenantName);
  const amount = tenant.amountOwedCents > 0 && !options.withoutAmount ? formatCents(tenant.amountOwedCents) : null;
  const template = TEMPLATES[language][intent];
  const closing = complianceFooter(language, { agencyName: policy.agencyName, firstText: options.firstText });
  // A preference they just stated is acknowledged, so they know it was heard (it is already stored and honoured).
  const noted = options.preference ? ` ${acknowledgePreference(options.preference, language)}` : '';
  const candidates: Fill[] = [
    { name, amount },
    { name: null, amount },
    { name: null, amount: null },
  ];
  let last = { text: '', violations: [] as ReturnType<typeof checkOutgoingText> };
  for (const fill of candidates) {
    const text = `${template(fill)}${noted} ${closing}`;
    const violations = checkOutgoingText(text, { language, policy, firstText: options.firstText, ledgerCents: tenant.amountOwedCents });
    if (violations.length === 0) return { text, violations };
    last = { text, violations };
  }
  return last;
}

// ---------------------------------------------------------------------------------------------------

/** "Who is this?": answered with who we are (the closing names the agency), never with the balance. */
const WHO_IS_THIS = /\b(who (is|'s) (this|texting|writing)|who are you|whos this|quien (es|habla|escribe)|quienes son)\b/;
function asksWhoWeAre(texts: readonly string[]): boolean {
  return texts.some((text) => WHO_IS_THIS.test(foldText(text)));
}

export interface RulesDrafterOptions {
  compliance?: CompliancePolicy;
  logger?: Logger;
}

export function createRulesDrafter(options: RulesDrafterOptions = {}): Drafter {
  const policy = options.compliance ?? DEFAULT_COMPLIANCE;
  return {
    name: 'rules',
    async draft(request: DraftRequest): Promise<DraftProposal> {
      const started = performance.now();
      const texts = request.unanswered.map((message) => message.text);
      const detection = detectIntents(texts);
      const step = request.step;
      // A plan step adds its intent; what else the debtor said stays (an opt-out or a dispute still routes first).
      const stepIntent = step ? STEP_INTENT[step.kind] : null;
      const intents: Intent[] =
        stepIntent && !detection.intents.includes(stepIntent)
          ? PRECEDENCE.filter((intent) => intent === stepIntent || (intent !== 'other' && detection.intents.includes(intent)))
          : detection.intents;
      const templateIntent = intents[0];
      // The step's own text (a restatement, a confirmation) is code's answer to the plan part; the most
      // delicate intent still picks the template when it outranks the plan (a dispute, a wrong number).
      const useStepText = step?.text != null && templateIntent === stepIntent;
      const check = draftCheckOptions(request, policy);
      const { text, violations } = useStepText
        ? { text: step.text!, violations: checkOutgoingText(step.text!, check) }
        : composeReply(templateIntent, request.tenant, policy, {
            firstText: check.firstText,
            withoutAmount: asksWhoWeAre(texts),
            preference: request.statedPreference,
          });
      const confidence = Math.min(
        ...intents.map((intent) => (intent === stepIntent ? STEP_CONFIDENCE[step!.kind] : RULES_CONFIDENCE[intent])),
      );
      const reasons = [
        'drafter:rules (deterministic keyword rules, no model)',
        ...detection.matched,
        ...(step ? [`negotiation:${step.kind}`, ...step.matched] : []),
        useStepText ? `template:negotiation.${step!.kind}.${request.tenant.language}` : `template:${templateIntent}.${request.tenant.language}`,
      ];
      const proposal: DraftProposal = {
        text,
        intents,
        confidence,
        reasons,
        // Only reachable with a configured policy stricter than the templates were written for.
        reviewReason: violations.length > 0 ? `compliance:${violations.map((violation) => violation.code).join(',')}` : null,
        rawText: null,
        drafter: 'rules',
        model: null,
        promptVersion: null,
        usage: null,
        latencyMs: Math.round(performance.now() - started),
      };
      options.logger?.info(
        { conversationId: request.conversationId, drafter: 'rules', intents, confidence, reviewReason: proposal.reviewReason },
        'draft proposed by the rules drafter',
      );
      return proposal;
    },
  };
}
