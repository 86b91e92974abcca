/**
 * Carrier-convention opt-out keywords: a whole message that is one of these (punctuation and case aside)
 * means "stop texting me", whatever else is going on. Shared by the machine (a STOP during a send stops
 * the send) and the rules drafter.
 */
import { bareWords } from './text.js';

// Re-exported: the normaliser itself lives in text.ts, the one place every rule reads text through.
export { bareWords };
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

export function isOptOutKeyword(text: string): boolean {
  return OPT_OUT_KEYWORDS.has(bareWords(text));
}
