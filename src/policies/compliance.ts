/**
 * Draft-time (and send-time) content policy for outgoing SMS (design §3). Pure: no I/O, no clock.
 * Quiet hours and per-debtor caps need time and storage, so they live elsewhere; this module only
 * judges the text itself.
 *
 * Matching is done on a folded copy of the text (lower case, accents removed) as well as on the raw text,
 * so "más"/"mas" and "cárcel"/"carcel" are the same to every pattern below.
 */

import { foldText } from '../../machines/conversation/text.js';
import { AppError } from '../errors.js';

// The one normaliser lives with the machine (it must stay pure); re-exported for callers that import it from here.
export { foldText };

export type ComplianceLanguage = 'en' | 'es';

export type ViolationCode = 'empty' | 'too_long' | 'missing_disclosure' | 'missing_opt_out' | 'banned_phrase';

export interface Violation {
  code: ViolationCode;
  /** A short, non-personal explanation (length, or the source of the banned pattern that matched). */
  detail?: string;
}

export interface CompliancePolicy {
  /** In characters (Unicode code points), not SMS segments. */
  maxLength: number;
  /** Tested against both the raw and the folded (lower-case, accent-free) text. */
  bannedPhrases: readonly RegExp[];
}

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

export const DEFAULT_COMPLIANCE: CompliancePolicy = Object.freeze({
  maxLength: 160,
  bannedPhrases: BANNED_PHRASES,
});

/** The sender identifies itself as a debt collector. */
const DISCLOSURE: Record<ComplianceLanguage, readonly RegExp[]> = {
  en: [
    /\b(this is|we are|we're|i am|i'm|from|sent by|message from)\s+(a|an|your)\s+debt\s+collect(or|ors|ion agency)\b/,
    /\bthis is an attempt to collect a debt\b/,
    /\bdebt collector\b.{0,40}\battempt(ing)? to collect a debt\b/,
  ],
  es: [
    /\b(este es|esta es|somos|soy|de parte de|de|enviado por|mensaje de)\s+(un|una)\s+(cobrador|agente de cobro|agencia de (cobranzas?|cobros?))(\s+de\s+deudas)?\b/,
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

/** Shortest wording that satisfies both the disclosure and the opt-out rules, as appended by the drafters. */
const FOOTER: Record<ComplianceLanguage, string> = {
  en: 'This is a debt collector. Reply STOP to opt out.',
  es: 'Este es un cobrador de deudas. Responda STOP para cancelar.',
};

export function complianceFooter(language: ComplianceLanguage): string {
  return FOOTER[language];
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

export function checkOutgoingText(
  text: string,
  options: { language: ComplianceLanguage; policy?: CompliancePolicy },
): Violation[] {
  const policy = options.policy ?? DEFAULT_COMPLIANCE;
  const trimmed = text.trim();
  if (trimmed.length === 0) return [{ code: 'empty' }];

  const folded = foldText(trimmed);
  const violations: Violation[] = [];
  const length = textLength(trimmed);
  if (length > policy.maxLength) violations.push({ code: 'too_long', detail: `${length} > ${policy.maxLength}` });
  if (!DISCLOSURE[options.language].some((pattern) => matches(pattern, folded))) {
    violations.push({ code: 'missing_disclosure', detail: options.language });
  }
  if (!OPT_OUT[options.language].some((pattern) => matches(pattern, folded))) {
    violations.push({ code: 'missing_opt_out', detail: options.language });
  }
  for (const pattern of policy.bannedPhrases) {
    if (matches(pattern, trimmed, folded)) violations.push({ code: 'banned_phrase', detail: pattern.source });
  }
  return violations;
}

/** How a draft that fails the checks is marked for review: `compliance:<code>,<code>`, or null when it passes. */
export function complianceReviewReason(violations: readonly Violation[]): string | null {
  return violations.length > 0 ? `compliance:${violations.map((violation) => violation.code).join(',')}` : null;
}

/** Refuses a text that fails the checks (422, not retryable): shared by a manager's decision and the send. */
export function assertCompliant(text: string, language: ComplianceLanguage, policy: CompliancePolicy = DEFAULT_COMPLIANCE): void {
  const violations = checkOutgoingText(text, { language, policy });
  if (violations.length > 0) {
    throw new AppError('compliance_violation', `the text fails the compliance checks: ${violations.map((v) => v.code).join(', ')}`, 422, false, {
      violations,
    });
  }
}
