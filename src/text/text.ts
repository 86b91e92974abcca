/**
 * What counts as text at our edge. Postgres refuses NUL in `text` and `jsonb`, and `\u0000` or a lone
 * surrogate in `jsonb`; a control character in an id, a key or a manager's text is never intended. So
 * strings are checked here, once, before anything stores or compares them.
 */

/** C0 controls but tab, LF and CR; DEL; C1 controls. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (no `u` flag: unit by unit). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

export type UnsafeKind = 'nul' | 'control' | 'lone_surrogate';

export interface UnsafeCharacter {
  kind: UnsafeKind;
  /** Index in UTF-16 units and the code point as `U+XXXX`: enough to find it, without echoing the value. */
  index: number;
  codePoint: string;
}

export function findUnsafeCharacter(value: string): UnsafeCharacter | null {
  const control = CONTROL.exec(value);
  const surrogate = LONE_SURROGATE.exec(value);
  const first = control && surrogate ? (control.index < surrogate.index ? control : surrogate) : (control ?? surrogate);
  if (!first) return null;
  const unit = first[0].charCodeAt(0);
  const kind: UnsafeKind = unit === 0 ? 'nul' : unit >= 0xd800 && unit <= 0xdfff ? 'lone_surrogate' : 'control';
  return { kind, index: first.index, codePoint: `U+${unit.toString(16).toUpperCase().padStart(4, '0')}` };
}

export function describeUnsafe(found: UnsafeCharacter): string {
  const what = found.kind === 'nul' ? 'a NUL character' : found.kind === 'lone_surrogate' ? 'a lone surrogate' : 'a control character';
  return `contains ${what} (${found.codePoint}) at index ${found.index}`;
}

/**
 * GSM 03.38 default alphabet, positions 0x00–0x1F. An SMS whose 7-bit septets were read as ASCII by a
 * carrier or gateway shows these as control characters: `@` arrives as NUL, `$` as 0x02, `_` as 0x11.
 * Tab, LF and CR are kept as they are (LF and CR mean the same in GSM; a tab is more likely a tab than Ç).
 * ESC (0x1B) introduces the extension table, whose character we cannot know here: it becomes U+FFFD.
 */
const GSM_0338_LOW = [
  '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', '\t', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
  'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\uFFFD', 'Æ', 'æ', 'ß', 'É',
];

/**
 * An inbound SMS body as we store it. A debtor's text is never refused for its characters: refusing it
 * would lose a STOP, a dispute or a payment offer that the law or the debtor needs us to see. Nobody types
 * a control character on a phone, so one can only be a decoding fault upstream: C0 controls are read as
 * the GSM 03.38 characters at those positions (NUL → `@`), DEL and C1 controls become U+FFFD, and a lone
 * surrogate (half of an emoji cut in two) becomes U+FFFD too.
 */
export function normaliseSmsText(value: string): string {
  const gsm = value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (char) => GSM_0338_LOW[char.charCodeAt(0)]!);
  return gsm.replace(/[\u007F-\u009F]/g, '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}
