/**
 * Carrier-convention opt-out keywords: a whole message that is one of these (punctuation and case aside)
 * means "stop texting me", whatever else is going on. Shared by the machine (a STOP during a send stops
 * the send) and the rules drafter.
 */
export const OPT_OUT_KEYWORDS: ReadonlySet<string> = new Set([
  'stop',
  'stop all',
  'stopall',
  'unsubscribe',
  'unsub',
  'quit',
  'cancel',
  'end',
  'opt out',
  'optout',
  'revoke',
  'alto',
  'parar',
  'para',
  'basta',
  'baja',
  'cancelar',
  'detener',
]);

/** Lower case, accents removed, punctuation dropped, spaces folded. */
export function bareWords(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N} ]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function isOptOutKeyword(text: string): boolean {
  return OPT_OUT_KEYWORDS.has(bareWords(text));
}
