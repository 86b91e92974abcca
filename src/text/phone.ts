import { parsePhoneNumberWithError } from 'libphonenumber-js';

/**
 * Phone numbers are compared and stored in E.164 (`+15551234567`), never as the caller typed them, so
 * `+1 (555) 123-4567`, `15551234567` and `+15551234567` are one debtor. Numbers without a country code
 * are read as US numbers.
 */
export const DEFAULT_PHONE_COUNTRY = 'US' as const;

/** What a typed phone number may hold: digits, a leading `+`, spaces and the usual punctuation; no letters, no extension. */
const SHAPE = /^\+?[0-9 ().-]{5,30}$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;
/**
 * A NANP number in E.164 with an area code from 2 to 9: what libphonenumber would answer is the text itself (10
 * national digits are possible for +1), so it is not asked. The SMS Agent sends numbers this way; a parse costs
 * 0.1–0.2 ms in a burst, two per first contact. test/unit/edge-text.test.ts checks the two agree.
 */
const NANP_E164 = /^\+1[2-9][0-9]{9}$/;

/**
 * The E.164 form of a phone number, or null when the text is not one.
 *
 * Why not `isValidPhoneNumber`: it checks the number against the ranges carriers have assigned, and
 * refuses every 555 number — the fictional ones the quick start, the simulated SMS Agent and the tests
 * use (`+15550100002`) — and, in real life, numbers from ranges newer than the library's metadata, which
 * would lose a real debtor's text. So a number must be *possible* (right length for its country) and
 * well-formed: only digits and punctuation, no extension (an SMS cannot reach one), and in the NANP
 * (`+1`) an area code that does not start with 0 or 1, which no NANP number does.
 */
export function normalisePhone(raw: string): string | null {
  // The SMS Agent's form answers itself, before the cache: the cache keeps only what costs a parse.
  if (NANP_E164.test(raw)) return raw;
  const known = normalised.get(raw);
  if (known !== undefined) return known;
  const result = parse(raw);
  // A pure function of its input, and libphonenumber's parse costs ~0.2 ms: a turn normalises the same few
  // numbers several times (the request, the identity check against the tenant's numbers, the opt-out key).
  if (normalised.size >= NORMALISED_KEPT) normalised.clear();
  normalised.set(raw, result);
  return result;
}

/** Inputs remembered at most (about a megabyte); the cache starts over when full. */
const NORMALISED_KEPT = 10_000;
const normalised = new Map<string, string | null>();

function parse(raw: string): string | null {
  const typed = raw.trim();
  if (!SHAPE.test(typed) || !/[0-9]/.test(typed)) return null;
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(typed, DEFAULT_PHONE_COUNTRY);
  } catch {
    return null;
  }
  if (parsed.ext || !parsed.isPossible()) return null;
  if (parsed.countryCallingCode === '1' && /^[01]/.test(parsed.nationalNumber)) return null;
  // libphonenumber calls some 5- and 6-digit strings possible (`+43 0000`); E.164 numbers that take SMS have 7 to 15 digits.
  if (!E164.test(parsed.number)) return null;
  return parsed.number;
}
