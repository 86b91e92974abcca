/**
 * The one text normaliser of the project. Every keyword rule (the machine's opt-out guard, the drafters'
 * intent rules, the legal-intent rules, the offer parser, the compliance checks) reads text through it, so
 * "más"/"mas", "ＳＴＯＰ"/"stop" and "don’t"/"don't" are the same word to all of them. It lives in the
 * machine's folder because the machine must stay pure (xstate and machines/ only); src/ imports it from here.
 */

/**
 * Lower case, accents and other combining marks removed, compatibility forms folded (full-width letters,
 * ligatures), curly apostrophes straightened, invisible format characters (zero-width spaces, soft hyphens,
 * bidi marks) dropped, control characters and whitespace folded to one space, trimmed. Punctuation is kept:
 * amounts ("$1,234.56") and question marks mean something to the rules that read this.
 */
export function foldText(text: string): string {
  return (
    text
      // NFKD, not NFD: a debtor's phone may send "ＳＴＯＰ" or "ﬁne"; compatibility forms must read as letters.
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .replace(/\p{Cf}+/gu, '')
      .replace(/[\u2018\u2019\u02bc\u0060\u00b4]/g, "'")
      .toLowerCase()
      .replace(/[\p{Cc}\s]+/gu, ' ')
      .trim()
  );
}

/**
 * `foldText`, then punctuation removed, for rules about words only: apostrophes join ("don't" → "dont",
 * so a rule spells one form), every other mark is a word break. "S.T.O.P!!" → "s t o p"; "Stop." → "stop".
 */
export function bareWords(text: string): string {
  return foldText(text)
    .replace(/'/g, '')
    .replace(/[^\p{L}\p{N} ]+/gu, ' ')
    .replace(/ +/g, ' ')
    .trim();
}
