/**
 * How many SMS a text costs (3GPP TS 23.038, "GSM 03.38"). Pure.
 *
 * A text made only of GSM-7 characters goes as 7-bit: 160 septets in one SMS, 153 per part once it must be
 * split (the rest of each part is the concatenation header); the extension characters (`€ [ ] { } ^ ~ \ |`
 * and form feed) take two septets each (escape + character), and an escape pair is never split across parts.
 * One character outside the set and the whole text goes as UCS-2: 70 UTF-16 code units in one SMS, 67 per
 * part, and a surrogate pair (an emoji) is never split either.
 *
 * Spanish is the trap: é, ñ, ü, à, è, ì, ò, ù, ¿ and ¡ are in the GSM-7 basic set, but á, í, ó and ú are
 * not, so "¿Cuánto debo?" is UCS-2 and one such letter turns a 160-character text into three SMS.
 */

/** The basic set, in table order (0x1B, the escape to the extension table, is not a character). */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** Reached through the escape: two septets each. */
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const BASIC: ReadonlySet<string> = new Set(GSM7_BASIC);
const EXTENSION: ReadonlySet<string> = new Set(GSM7_EXTENSION);

export type SmsEncoding = 'gsm7' | 'ucs2';

export interface SmsLength {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  /** SMS the carrier bills; an empty text still goes as one. */
  segments: number;
}

const SINGLE = { gsm7: 160, ucs2: 70 } as const;
const PART = { gsm7: 153, ucs2: 67 } as const;

/** Whether every character of `text` is in the GSM-7 basic or extension table. */
export function isGsm7(text: string): boolean {
  for (const char of text) if (!BASIC.has(char) && !EXTENSION.has(char)) return false;
  return true;
}

/** Each character's cost in units: septets for GSM-7, code units for UCS-2 (2 for a surrogate pair). */
function costs(text: string, encoding: SmsEncoding): number[] {
  const result: number[] = [];
  for (const char of text) result.push(encoding === 'gsm7' ? (EXTENSION.has(char) ? 2 : 1) : char.length);
  return result;
}

export function smsSegments(text: string): SmsLength {
  const encoding: SmsEncoding = isGsm7(text) ? 'gsm7' : 'ucs2';
  const each = costs(text, encoding);
  const units = each.reduce((sum, cost) => sum + cost, 0);
  if (units <= SINGLE[encoding]) return { encoding, units, segments: 1 };
  // Fill parts in order; a character that does not fit whole (an escape pair, a surrogate pair) starts the next one.
  let segments = 1;
  let used = 0;
  for (const cost of each) {
    if (used + cost > PART[encoding]) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return { encoding, units, segments };
}

/** The most units `segments` SMS hold in an encoding (ignoring the rare unsplittable pair at a boundary). */
export function segmentCapacity(encoding: SmsEncoding, segments: number): number {
  return segments <= 1 ? SINGLE[encoding] : PART[encoding] * segments;
}
