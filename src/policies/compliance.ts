/**
 * Draft-time (and send-time) content policy for outgoing SMS (docs/compliance.md). Pure: no I/O,
 * no clock. Quiet hours and per-debtor caps need time and storage, so they live elsewhere; this module only
 * judges the text itself: its length in SMS segments, the closing (agency, debt collector, opt-out, and the
 * full notice on a first text), threats, fees, and amounts that are not the ledger's.
 *
 * Matching is done on a folded copy of the text (lower case, accents removed) as well as on the raw text,
 * so "más"/"mas" and "cárcel"/"carcel" are the same to every pattern below.
 */

import { foldText } from '../../machines/conversation/text.js';
import { AppError } from '../errors.js';
import { buildDisclosure, normaliseAgencyName } from './disclosure.js';
import { segmentCapacity, smsSegments, type SmsEncoding } from './sms-segments.js';

// The one normaliser lives with the machine (it must stay pure); re-exported for callers that import it from here.
export { foldText };

export type ComplianceLanguage = 'en' | 'es';

export type ViolationCode =
  | 'empty'
  | 'too_long'
  | 'missing_disclosure'
  | 'missing_agency'
  | 'missing_notice'
  | 'missing_opt_out'
  | 'banned_phrase'
  | 'fee_language'
  | 'amount_mismatch';

export interface Violation {
  code: ViolationCode;
  /** A short, non-personal explanation (length, or the source of the banned pattern that matched). */
  detail?: string;
}

export interface CompliancePolicy {
  /**
   * Budget in SMS segments (GSM-7 160/153, UCS-2 70/67; src/policies/sms-segments.ts). Default 4: the
   * smallest budget in which every text the code composes fits in both languages (docs/compliance.md).
   */
  maxSegments?: number;
  /** Optional extra cap in characters (code points), for deployments that want one; none by default. */
  maxLength?: number;
  /** Tested against both the raw and the folded (lower-case, accent-free) text. */
  bannedPhrases: readonly RegExp[];
  /** Whether texts may speak of fees, surcharges or extra charges (only where the contract or the law allows them). */
  allowFees?: boolean;
  /** AGENCY_NAME: when set, every text must name the agency, and the drafters' closing does. */
  agencyName?: string | null;
}

/**
 * English texts of the templates take at most 2 segments (GSM-7), the first one with its full notice too.
 * Spanish texts are UCS-2 (á í ó ú): 3 segments for a reply, 4 for a first reply, whose closing alone (agency,
 * debt collector, notice, opt-out) is 143 characters with "Acme Recovery", more than 2 UCS-2 segments (134) hold. A budget
 * below 4 would send every first Spanish reply to a manager as too long.
 */
export const DEFAULT_MAX_SEGMENTS = 4;

/**
 * Threats a collector may never make, and words that read as such in an automated text: arrest, jail,
 * garnishment, lawsuits and courts, criminal charges, police, deportation. English and Spanish.
 * Written against folded text (no accents), hence "carcel", "prision", "policia".
 */
const BANNED_PHRASES: readonly RegExp[] = [
  // English
  /\barrest(s|ed|ing)?\b/i,
  /\bwarrants?\b/i,
  /\bjail(ed)?\b/i,
  /\bprison\b/i,
  /\bgarnish(ed|es|ing|ment)?\b/i,
  /\blawsuits?\b/i,
  /\b(sue|sued|suing)\b/i,
  /\blegal action\b/i,
  /\b(court|courts|judge)\b/i,
  /\bcriminal(ly)?\b/i,
  /\b(police|sheriff)\b/i,
  /\bdeport(ed|ation)?\b/i,
  /\b(seize|seizure|repossess\w*)\b/i,
  // Spanish
  /\barrest(o|ar|ad[oa]s?|aran?)\b/i,
  /\borden de (captura|aprehension)\b/i,
  /\bcarcel\b/i,
  /\bprision\b/i,
  /\bembarg(o|ar|aremos|ara|ado|ada)\b/i,
  /\bdemanda(r|remos|ra|do)?\b/i,
  /\b(accion|acciones) legal(es)?\b/i,
  /\b(tribunal|tribunales|juzgado|juez|corte)\b/i,
  /\b(delito|penal(mente)?)\b/i,
  /\bpolicia\b/i,
  /\bdeport(ar|acion|ado|ada)\b/i,
];

/**
 * Fees a collector may only mention where the agreement or the law authorises them (Reg F §1006.22(b)):
 * off unless the policy says `allowFees`. "cargo por", not "cargo": "a cargo de" means "in charge of".
 */
const FEE_PHRASES: readonly RegExp[] = [
  /\b(fees?|surcharges?|(late|processing|service|convenience|collection|admin|administrative|penalty) (charges?|costs?))\b/,
  /\b(cargos? (por|adicional(es)?|extras?|de (servicio|cobranza|mora|administracion|procesamiento))|recargos?|comision(es)?|penalizacion(es)?)\b/,
];

export const DEFAULT_COMPLIANCE: CompliancePolicy = Object.freeze({
  maxSegments: DEFAULT_MAX_SEGMENTS,
  bannedPhrases: BANNED_PHRASES,
  allowFees: false,
  agencyName: null,
});

/** The sender identifies itself as a debt collector. */
const DISCLOSURE: Record<ComplianceLanguage, readonly RegExp[]> = {
  en: [
    /\b(this is|is|we are|we're|are|i am|i'm|from|sent by|message from)\s+(a|an|your)\s+debt\s+collect(or|ors|ion agency)\b/,
    /\bthis is an attempt to collect a debt\b/,
    /\bdebt collector\b.{0,40}\battempt(ing)? to collect a debt\b/,
  ],
  es: [
    /\b(este es|esta es|es|somos|soy|de parte de|de|enviado por|mensaje de)\s+(un|una)\s+(cobrador|agente de cobro|agencia de (cobranzas?|cobros?))(\s+de\s+deudas)?\b/,
    /\b(somos|de)\s+cobradores\s+de\s+deudas\b/,
    /\besto es un intento de cobrar una deuda\b/,
  ],
};

/** The opt-out instruction: "Reply STOP to opt out" and its usual variants. */
const OPT_OUT: Record<ComplianceLanguage, readonly RegExp[]> = {
  en: [/\b(reply|text|send|respond)( with)? ["']?stop["']? to (opt[ -]?out|unsubscribe|stop (these |receiving )?(messages|texts))\b/],
  es: [
    /\b(responda|responde|conteste|contesta|envie|envia|escriba|escribe)( con)? ["']?stop["']? (para|y) (no recibir mas mensajes|cancelar|darse de baja|darte de baja|dejar de recibir mensajes)\b/,
  ],
};

/**
 * The full notice of a first text (§1006.18(e)(1)): collecting a debt, and what information obtained is for.
 * Every pattern of a language must match.
 */
const NOTICE: Record<ComplianceLanguage, readonly RegExp[]> = {
  en: [/\battempt(ing)? to collect a debt\b/, /\b(info|information)( we)? (obtained|obtain) (will be|is) used for (that|this) purpose\b/],
  es: [
    /\b(intento|intenta|intentando|tratando|trata) de cobrar una deuda\b|\bintenta cobrar una deuda\b/,
    /\binformacion (que )?(obtenida|obtengamos|obtenemos) se (usara|utilizara|usa|utiliza) (con|para) (ese|este) (fin|proposito)\b/,
  ],
};

export interface FooterOptions {
  /** Defaults to none: the closing then says "This is a debt collector". */
  agencyName?: string | null;
  /** The first text of a conversation carries the full notice. */
  firstText?: boolean;
}

/**
 * The closing the drafters and the plan texts append (src/policies/disclosure.ts builds it). Without options
 * it is still compliant: it just does not name an agency, which only a policy with `agencyName` requires.
 */
export function complianceFooter(language: ComplianceLanguage, options: FooterOptions = {}): string {
  return buildDisclosure(language, options);
}

/** Length as a person counts it (code points), so an accent or an emoji counts once. */
export function textLength(text: string): number {
  return [...text].length;
}

function matches(pattern: RegExp, ...texts: string[]): boolean {
  return texts.some((text) => {
    pattern.lastIndex = 0; // harmless for non-global patterns, essential for configured /g ones
    return pattern.test(text);
  });
}

/** Segments the text takes and the budget it has, for a policy. */
export function segmentBudget(policy: CompliancePolicy = DEFAULT_COMPLIANCE): number {
  return policy.maxSegments ?? DEFAULT_MAX_SEGMENTS;
}

/** Whether a text fits the policy's length budget: its segments and, if set, `maxLength` characters. */
export function fitsLength(text: string, policy: CompliancePolicy = DEFAULT_COMPLIANCE): boolean {
  const trimmed = text.trim();
  return smsSegments(trimmed).segments <= segmentBudget(policy) && (policy.maxLength === undefined || textLength(trimmed) <= policy.maxLength);
}

/**
 * How many characters a drafter may write in a language: the budget's capacity in the encoding the
 * language's texts end up in (Spanish accents make UCS-2), capped by `maxLength` when set.
 */
export function maxCharacters(language: ComplianceLanguage, policy: CompliancePolicy = DEFAULT_COMPLIANCE): number {
  const encoding: SmsEncoding = language === 'es' ? 'ucs2' : 'gsm7';
  const capacity = segmentCapacity(encoding, segmentBudget(policy));
  return policy.maxLength === undefined ? capacity : Math.min(capacity, policy.maxLength);
}

/** "$1,234.56", "$50", "50.00 dollars", "USD 50" → integer cents, in the order they appear. */
export function amountsInText(folded: string): number[] {
  const amounts: number[] = [];
  const pattern =
    /(?:\$ ?|\busd ?|\bus\$ ?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?|\b(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))? ?(?:dollars?|dolares?|usd|dlls?)\b/g;
  for (const match of folded.matchAll(pattern)) {
    const whole = match[1] ?? match[3];
    const fraction = match[2] ?? match[4] ?? '';
    amounts.push(Number(whole.replace(/,/g, '')) * 100 + Number(fraction.padEnd(2, '0') || '0'));
  }
  return amounts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface CheckOptions {
  language: ComplianceLanguage;
  policy?: CompliancePolicy;
  /** The first text of the conversation must carry the full notice (§1006.18(e)(1)). */
  firstText?: boolean;
  /** The balance the ledger says the debtor owes: an amount in the text must be it (or one of `allowedCents`). */
  ledgerCents?: number;
  /** Other amounts the text may state: a plan restatement's instalments, last instalment and total. */
  allowedCents?: readonly number[];
}

export function checkOutgoingText(text: string, options: CheckOptions): Violation[] {
  const policy = options.policy ?? DEFAULT_COMPLIANCE;
  const trimmed = text.trim();
  if (trimmed.length === 0) return [{ code: 'empty' }];

  const folded = foldText(trimmed);
  const violations: Violation[] = [];
  const sms = smsSegments(trimmed);
  const budget = segmentBudget(policy);
  const length = textLength(trimmed);
  if (sms.segments > budget) {
    violations.push({ code: 'too_long', detail: `${sms.segments} ${sms.encoding} segments > ${budget}` });
  } else if (policy.maxLength !== undefined && length > policy.maxLength) {
    violations.push({ code: 'too_long', detail: `${length} > ${policy.maxLength}` });
  }
  if (!DISCLOSURE[options.language].some((pattern) => matches(pattern, folded))) {
    violations.push({ code: 'missing_disclosure', detail: options.language });
  }
  const agency = normaliseAgencyName(policy.agencyName);
  if (agency !== null && !folded.includes(foldText(agency))) violations.push({ code: 'missing_agency' });
  if (options.firstText && !NOTICE[options.language].every((pattern) => matches(pattern, folded))) {
    violations.push({ code: 'missing_notice', detail: options.language });
  }
  if (!OPT_OUT[options.language].some((pattern) => matches(pattern, folded))) {
    violations.push({ code: 'missing_opt_out', detail: options.language });
  }
  // The agency's own name is not content: "Sue Smith Collections" must not read as a threat to sue.
  const raw = agency === null ? trimmed : trimmed.replace(new RegExp(escapeRegExp(agency), 'giu'), ' ');
  const content = agency === null ? folded : folded.split(foldText(agency)).join(' ');
  for (const pattern of policy.bannedPhrases) {
    if (matches(pattern, raw, content)) violations.push({ code: 'banned_phrase', detail: pattern.source });
  }
  if (!policy.allowFees && FEE_PHRASES.some((pattern) => matches(pattern, content))) violations.push({ code: 'fee_language' });
  if (options.ledgerCents !== undefined || options.allowedCents !== undefined) {
    const allowed = new Set<number>([...(options.ledgerCents === undefined ? [] : [options.ledgerCents]), ...(options.allowedCents ?? [])]);
    // No detail: the amounts are the debtor's data and stay out of reasons and logs.
    if (amountsInText(content).some((cents) => !allowed.has(cents))) violations.push({ code: 'amount_mismatch' });
  }
  return violations;
}

/** How a draft that fails the checks is marked for review: `compliance:<code>,<code>`, or null when it passes. */
export function complianceReviewReason(violations: readonly Violation[]): string | null {
  return violations.length > 0 ? `compliance:${violations.map((violation) => violation.code).join(',')}` : null;
}

/** Refuses a text that fails the checks (422, not retryable): shared by a manager's decision and the send. */
export function assertCompliant(
  text: string,
  language: ComplianceLanguage,
  policy: CompliancePolicy = DEFAULT_COMPLIANCE,
  options: Omit<CheckOptions, 'language' | 'policy'> = {},
): void {
  const violations = checkOutgoingText(text, { language, policy, ...options });
  if (violations.length > 0) throw complianceViolation(violations);
}

/** The 422 a refused text answers with (not retryable): the violations say which rules refused it. */
export function complianceViolation(violations: readonly Violation[]): AppError {
  return new AppError('compliance_violation', `the text fails the compliance checks: ${violations.map((v) => v.code).join(', ')}`, 422, false, {
    violations,
  });
}
