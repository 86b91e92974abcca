import type { ParsedOffer } from './offer-parser.js';
import { moneyTokenToCents } from './money.js';

/**
 * The structured form the SMS Agent's model already writes when it sees a plan:
 * `PAYMENT_PLAN: weekly=50, weeks=8, start=2026-12-04` (start optional, an ISO date). Read exactly; anything
 * looser is free text for parseOffer.
 */
const DIRECTIVE = /PAYMENT_PLAN:\s*weekly\s*=\s*\$?\s*([\d,]+(?:\.\d{1,2})?)\s*,\s*weeks\s*=\s*(\d{1,3})(?:\s*,\s*start\s*=\s*(\d{4}-\d{2}-\d{2}))?/i;

export function parsePlanDirective(text: string): ParsedOffer | null {
  const match = DIRECTIVE.exec(text);
  if (!match) return null;
  const instalmentCents = moneyTokenToCents(match[1]);
  const count = Number.parseInt(match[2], 10);
  if (instalmentCents === null || count < 1) return null;
  return {
    instalmentCents,
    frequency: 'weekly',
    count,
    startOn: match[3] ?? null,
    downPaymentCents: null,
    matched: ['directive:payment_plan'],
  };
}
