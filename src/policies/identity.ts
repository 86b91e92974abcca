/**
 * Who may hear about the account (Reg F §1006.6(d), third parties). Account details (amounts, the creditor,
 * a plan) go only to a number on the tenant's record or one a manager verified; anyone else gets a text
 * that names the agency and asks them to confirm who they are, with no account detail. Pure.
 */
import { normalisePhone } from '../text/phone.js';
import { complianceFooter, type ComplianceLanguage, type CompliancePolicy } from './compliance.js';

export type Identity = 'on_record' | 'verified' | 'unverified';

export function identityOf(phone: string, recordNumbers: readonly string[], verified: boolean): Identity {
  const e164 = normalisePhone(phone) ?? phone;
  if (recordNumbers.some((number) => (normalisePhone(number) ?? number) === e164)) return 'on_record';
  return verified ? 'verified' : 'unverified';
}

const ASK: Record<ComplianceLanguage, (agency: string | null) => string> = {
  en: (agency) => `Hi, this is ${agency ?? 'our office'}. We have a message for a specific person. To confirm it is you, please reply with your full name.`,
  es: (agency) => `Hola, le escribe ${agency ?? 'nuestra oficina'}. Tenemos un mensaje para una persona. Para confirmar que es usted, responda con su nombre completo.`,
};

/** Whoever holds an unverified number: the agency's name and a request to confirm who they are; nothing about the account. */
export function identityRequestText(language: ComplianceLanguage, policy: CompliancePolicy, options: { firstText: boolean }): string {
  const agency = policy.agencyName ?? null;
  return `${ASK[language](agency)} ${complianceFooter(language, { agencyName: agency, firstText: options.firstText })}`;
}

/** "It's James Smith", "my name is James Smith", "soy Ana García": the words before the name, in either language. */
const NAME_PREFIX = /^(?:(?:hi|hello|hey|hola|yes|yeah|si|sí)[,.!]?\s+)?(?:it'?s|it is|this is|i'?m|i am|my name is|name'?s|me llamo|mi nombre es|soy|habla|es)\s+/i;

/**
 * The name an unconfirmed number gave in answer to the identity question, as a manager reads it beside the
 * names on record: the leading "it's"/"my name is" and trailing punctuation dropped, at most 100 characters.
 * Kept as written otherwise; a person compares it, no rule does.
 */
export function claimedName(answer: string): string {
  const trimmed = answer.trim().replace(/[\u2018\u2019]/g, "'");
  return trimmed.replace(NAME_PREFIX, '').replace(/[.!?,;:\s]+$/u, '').slice(0, 100) || trimmed.slice(0, 100);
}
