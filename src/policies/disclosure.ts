/**
 * The closing every text to a debtor carries, built by code, never written by a model (Reg F §1006.18(e)):
 * - every text names the agency, says it is from a debt collector, and says how to opt out (§1006.6(e));
 * - the first text of a conversation also carries the full notice: that the collector is attempting to
 *   collect a debt and any information obtained will be used for that purpose (§1006.18(e)(1)).
 * Pure. The agency name comes from AGENCY_NAME (src/config.ts) through the compliance policy.
 */

export type DisclosureLanguage = 'en' | 'es';

export interface DisclosureOptions {
  /** The agency's name as debtors know it; null or blank → the closing says "This is a debt collector". */
  agencyName?: string | null;
  /** The first text of the conversation carries the full notice. */
  firstText?: boolean;
}

/** Longest agency name the closing takes: the first Spanish text must still leave room for a body. */
export const MAX_AGENCY_NAME_LENGTH = 40;

/**
 * The name as it is printed and looked for: invisible and control characters dropped, whitespace folded,
 * trimmed; null when nothing readable (a letter or a digit) is left. Config refuses such names at boot; this
 * keeps the pure functions total for any string.
 */
export function normaliseAgencyName(name: string | null | undefined): string | null {
  if (name == null) return null;
  const cleaned = name
    .normalize('NFC')
    .replace(/[\p{Cf}\p{Cs}]+/gu, '')
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .trim();
  return /[\p{L}\p{N}]/u.test(cleaned) ? cleaned : null;
}

const SENTENCES = {
  en: {
    collector: (agency: string | null) => (agency ? `${agency} is a debt collector.` : 'This is a debt collector.'),
    // One sentence instead of two, to keep the first text within its SMS budget.
    notice: (agency: string | null) =>
      `${agency ?? 'This is a debt collector'}${agency ? ' is a debt collector' : ''} attempting to collect a debt; any information obtained will be used for that purpose.`,
    optOut: 'Reply STOP to opt out.',
  },
  es: {
    collector: (agency: string | null) => (agency ? `${agency} es un cobrador de deudas.` : 'Este es un cobrador de deudas.'),
    notice: (agency: string | null) =>
      `${agency ?? 'Este es un cobrador de deudas'}${agency ? ' es un cobrador de deudas' : ''} que intenta cobrar una deuda; la información obtenida se usará con ese fin.`,
    optOut: 'Responda STOP para cancelar.',
  },
} as const;

/** The closing sentences, to be appended after the body with one space. */
export function buildDisclosure(language: DisclosureLanguage, options: DisclosureOptions = {}): string {
  const words = SENTENCES[language];
  const agency = normaliseAgencyName(options.agencyName);
  const first = options.firstText ? words.notice(agency) : words.collector(agency);
  return `${first} ${words.optOut}`;
}
