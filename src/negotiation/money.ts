/**
 * Money: integer cents only, parsed from decimal strings without binary floats. One parser for the
 * monitor's `amount_owed`, configured amounts and a debtor's "$1,250.50", so they always agree.
 */

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$/;

/**
 * "1250.50" → 125050, "99.9" → 9990, "100" → 10000, "$1,250.5" → 125050, without going through a float
 * (0.1 + 0.2 style errors). Digits past the cent round half up. Undefined when it is not an amount.
 */
export function parseAmountToCents(text: string): number | undefined {
  const match = DECIMAL.exec(text.trim().replace(/^\$/, '').replace(/,/g, ''));
  if (!match) return undefined;
  const [, minus, whole, fraction = ''] = match;
  const padded = fraction.padEnd(3, '0');
  let cents = BigInt(whole) * 100n + BigInt(padded.slice(0, 2));
  if (Number(padded[2]) >= 5) cents += 1n;
  if (cents > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const value = Number(cents);
  return minus && value !== 0 ? -value : value;
}

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
