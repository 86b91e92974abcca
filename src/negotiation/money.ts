/**
 * Money for negotiation: integer cents only. Parsing delegates to the exact decimal-string parser the
 * collections-monitor client already uses, so a debtor's "$1,250.50" and the monitor's "1250.50" agree.
 */
import { parseAmountToCents } from '../effects/clients/collections-monitor.client.js';

/** "$1,234.56" from 123456, by integer arithmetic. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const absolute = Math.abs(Math.trunc(cents));
  const dollars = Math.floor(absolute / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}$${dollars}.${String(absolute % 100).padStart(2, '0')}`;
}

/**
 * A money token as a debtor writes it ("200", "1,250.50", "$75") to cents; null when it is not a
 * positive amount. Thousands separators must be well placed ("1,250" yes, "12,50" no: that is a
 * European decimal we do not guess at).
 */
export function moneyTokenToCents(token: string): number | null {
  const bare = token.replace(/^\$\s?/, '');
  if (!/^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?$/.test(bare)) return null;
  const cents = parseAmountToCents(bare);
  return cents !== undefined && cents > 0 ? cents : null;
}

/** ceil(a / b) for positive integers, without floats losing precision on large values. */
export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/** Rounded up to whole dollars: counter-proposals ask for round amounts. */
export function ceilToDollar(cents: number): number {
  return ceilDiv(cents, 100) * 100;
}
