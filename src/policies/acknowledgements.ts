/**
 * The short texts code sends where the debtor would otherwise hear nothing (the machine's `acknowledge`
 * action, docs/compliance.md "Answers where there was silence"). Fixed wording, no amount, no creditor: a
 * dispute acknowledged (FDCPA §809(b), Reg F §1006.38: collection is paused, so nothing here asks for
 * payment), an offer passed to a person, the account settled, an identity claim received, a number a
 * manager found is not the debtor's (Reg F §1006.6(d): one text, then no contact). Pure.
 */
import type { AcknowledgementKind } from '../../machines/conversation/conversation.machine.js';
import { complianceFooter, type ComplianceLanguage, type CompliancePolicy } from './compliance.js';

const BODIES: Record<ComplianceLanguage, Record<AcknowledgementKind, string>> = {
  en: {
    dispute: 'We received your dispute. We have paused collection of this account while we verify it, and we will write to you with what we find.',
    plan_review: 'Thanks. A member of our team will contact you about a plan.',
    settled: 'Thank you. Your account is paid in full and settled. Nothing more is due.',
    identity_claimed: 'Thank you. A member of our team will confirm your details and get back to you.',
    identity_rejected: 'Thank you. We have noted that this number does not belong to the person we are looking for, and we will not contact it again.',
  },
  es: {
    dispute: 'Recibimos su disputa. Detuvimos el cobro de esta cuenta mientras la verificamos y le escribiremos con lo que encontremos.',
    plan_review: 'Gracias. Alguien de nuestro equipo le contactará sobre un plan.',
    settled: 'Gracias. Su cuenta está pagada por completo y saldada. No debe nada más.',
    identity_claimed: 'Gracias. Alguien de nuestro equipo confirmará sus datos y le responderá.',
    identity_rejected: 'Gracias. Anotamos que este número no es de la persona que buscamos y no volveremos a contactarlo.',
  },
};

/** Kinds that tell whoever reads them that an account exists: withheld from a number nobody has confirmed. */
export const REVEALS_ACCOUNT: ReadonlySet<AcknowledgementKind> = new Set(['dispute', 'plan_review', 'settled']);

export function acknowledgementText(kind: AcknowledgementKind, language: ComplianceLanguage, policy: CompliancePolicy, options: { firstText: boolean }): string {
  return `${BODIES[language][kind]} ${complianceFooter(language, { agencyName: policy.agencyName, firstText: options.firstText })}`;
}
