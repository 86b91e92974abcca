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

/** Contractions written out, so a rule spells one form: "isn't", "isn’t", "isnt" and "isn;t" all read "is not". */
const CONTRACTIONS: Record<string, string> = {
  isnt: 'is not', arent: 'are not', wasnt: 'was not', werent: 'were not', aint: 'is not',
  dont: 'do not', doesnt: 'does not', didnt: 'did not', cant: 'can not', cannot: 'can not', wont: 'will not',
  hasnt: 'has not', havent: 'have not', hadnt: 'had not', couldnt: 'could not', wouldnt: 'would not', shouldnt: 'should not',
  im: 'i am', ive: 'i have', thats: 'that is', whats: 'what is', theres: 'there is', youre: 'you are', theyre: 'they are', weve: 'we have',
};

/**
 * Misspellings common enough in debtors' texts to name, each folded to the word the rules spell. Only words
 * that cannot be another word are here ("dept" is a department, "ill" is unwell: they stay as typed).
 */
const MISSPELLINGS: Record<string, string> = {
  alredy: 'already', allready: 'already', alrdy: 'already', alreddy: 'already', alrady: 'already', allredy: 'already', aready: 'already', alreay: 'already', alreadt: 'already', alreaady: 'already',
  payed: 'paid', paied: 'paid', piad: 'paid', paide: 'paid',
  det: 'debt', dett: 'debt', detb: 'debt', debth: 'debt', dbt: 'debt',
  acount: 'account', accout: 'account', acct: 'account', accnt: 'account', accunt: 'account', accoutn: 'account',
  persn: 'person', preson: 'person', perosn: 'person',
  nevr: 'never', nver: 'never', neva: 'never',
  mne: 'mine', mines: 'mine',
  // Spanish, after accents are folded ("pagué" → "pague", "mía" → "mia").
  pagye: 'pague', paque: 'pague', equibocada: 'equivocada', equivocda: 'equivocada',
};

/**
 * `bareWords`, then contractions written out and the misspellings above corrected, word by word: the form
 * the human-only intent rules read besides `bareWords` (src/policies/legal-intents.ts). "This isn’t my dept"
 * → "this is not my dept"; "I alredy payed" → "i already paid"; "ya la pagué" → "ya la pague".
 */
export function plainWords(text: string): string {
  return bareWords(text)
    // "isn t", from "isn;t" or "isn.t": the apostrophe typed as another mark.
    .replace(/\b(is|are|was|were|do|does|did|has|have|had|ca|wo|could|would|should|ai)n t\b/g, '$1nt')
    .split(' ')
    .map((word) => CONTRACTIONS[word] ?? MISSPELLINGS[word] ?? word)
    .join(' ');
}
