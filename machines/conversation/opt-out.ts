/**
 * Is this inbound text a request to stop texting? The TCPA lets a consumer revoke consent "by any
 * reasonable means", and Reg F §1006.6(e) requires every electronic communication to offer a way out, so a
 * carrier keyword is not the only way: "take me off your list" and "no me manden más mensajes" count too.
 *
 * Pure and shared: the machine's guard `isOptOutMessage` (a STOP that arrives while a text is being sent
 * stops the send) and the rules (the rules drafter, the OpenAI drafter's safety net) call the same function,
 * so what stops a send is exactly what routes a draft to `optedOut`.
 *
 * Wrongly reading an opt-out costs one conversation an automated channel; missing one costs a violation per
 * text. So the rules lean towards opting out, and only decided look-alikes are refused: a negated or idiomatic
 * "stop" ("don't stop my plan", "can't stop worrying", "stop by the office"), "end" and "para" inside a sentence
 * ("by the end of the month", "para el viernes le pago").
 */
import { bareWords } from './text.js';

/**
 * Carrier-convention keywords: a whole message that is one of these (punctuation, case, politeness and
 * repetition aside: "Stop please!!", "STOP STOP", "alto por favor") means "stop texting me".
 */
export const OPT_OUT_KEYWORDS: ReadonlySet<string> = new Set([
  'stop',
  'stop all',
  'stopall',
  'stop it',
  'stop this',
  'stop texting',
  'unsubscribe',
  'unsub',
  'quit',
  'cancel',
  'end',
  'opt out',
  'optout',
  'revoke',
  'remove',
  'remove me',
  'take me off',
  'delete me',
  'alto',
  'parar',
  'para',
  'pare',
  'paren',
  'basta',
  'baja',
  'cancelar',
  'detener',
  'detente',
  'no mas mensajes',
  'no mas textos',
]);

/** Words a whole-message keyword may come with: politeness, emphasis, "I said". */
const FILLER: ReadonlySet<string> = new Set([
  'please', 'pls', 'plz', 'plis', 'pleas', 'pleaseee', 'now', 'right', 'thanks', 'thank', 'you', 'thx', 'ty', 'ok', 'okay',
  'just', 'i', 'said', 'asap', 'immediately', 'already', 'again', 'por', 'favor', 'porfavor', 'porfa', 'xfa', 'gracias',
  'ya', 'ahora', 'dije', 'inmediatamente', 'ahorita',
]);

/** A "stop" that is negated or idiomatic is not a request: "don't stop", "can't stop worrying". */
const NOT_AFTER = String.raw`(?<!\b(?:cant|cannot|can not|couldnt|wont|will not|dont|do not|didnt|never|not|doesnt|wouldnt|shouldnt|wont ever)\s)`;

interface OptOutRule {
  id: string;
  pattern: RegExp;
}

const MESSAGES = String.raw`(?:texts?|txts?|messages?|msgs?|sms|text messages|mensajes?|textos?)`;
/** What may follow a Spanish "no me escriban" for it to be about messages, not "no me manden la factura". */
const ES_AFTER = String.raw`(?:$| (?:mas|mensajes?|textos?|sms|nada|por favor|porfa|ya|nunca|otra vez|de nuevo|aqui|gracias|a este (?:numero|celular|telefono)|a mi (?:numero|celular|telefono))\b)`;

/** On `bareWords` text: lower case, no accents, apostrophes joined ("dont"), other punctuation dropped. */
const RULES: readonly OptOutRule[] = [
  // English
  {
    id: 'opt_out.stop_sending',
    pattern: new RegExp(
      String.raw`${NOT_AFTER}\b(?:stop|stp|sotp|quit|cease|halt)(?: (?:all|the|these|those|your|ur|any|this))? (?:texting|txting|messaging|msging|sending|receiving|getting|${MESSAGES})\b`,
    ),
  },
  { id: 'opt_out.no_more', pattern: new RegExp(String.raw`\bno (?:more|further) (?:${MESSAGES}|texting)\b`) },
  {
    id: 'opt_out.dont_text',
    pattern: /\b(?:dont|do not|never|quit|stop|no) (?:text|txt|message|msg|sms|texting|messaging) (?:me|this number|my (?:phone|number|cell))\b/,
  },
  { id: 'opt_out.dont_send', pattern: new RegExp(String.raw`\b(?:dont|do not|never) send (?:me )?(?:any ?(?:more )?|more |these |those )?${MESSAGES}\b`) },
  {
    id: 'opt_out.off_list',
    pattern:
      /\b(?:take|remove|delete|erase|drop|get|put) (?:me|us|my (?:cell |phone |mobile )?number|this (?:cell |phone )?number|my (?:cell|phone)) (?:off|from|out of)(?: of)? (?:your |the |this |ur |all |all your |all of your )?(?:\w+ )?(?:list|lists|system|database|contacts|records|texts|messages|texting|do not (?:text|call) list)\b/,
  },
  { id: 'opt_out.remove_number', pattern: /\b(?:remove|delete|erase) (?:my|this) (?:cell |phone |mobile )?(?:number|phone|cell)\b|\btake (?:my|this) (?:phone |cell )?number off\b/ },
  { id: 'opt_out.unsubscribe', pattern: /\b(?:unsubscribe|unsubscribed|unsuscribe|unsubcribe|unsubscibe|unsub)\b/ },
  { id: 'opt_out.opt_out', pattern: /\b(?:opt|opting|opted) (?:me )?out\b|\boptout\b/ },
  {
    id: 'opt_out.revoke_consent',
    pattern: /\b(?:revoke|revoking|withdraw|withdrawing|rescind|cancel) (?:my |all |any )?(?:consent|permission|authorization|authorisation)\b|\b(?:dont|do not|no longer) consent\b/,
  },
  { id: 'opt_out.cancel_texts', pattern: new RegExp(String.raw`\bcancel (?:my |the |these |your )?(?:subscription|text alerts|${MESSAGES})\b`) },
  // Spanish
  {
    id: 'opt_out.es_no_me_escriban',
    pattern: new RegExp(
      String.raw`\bno me (?:escriban|escribas|escriba|manden|mandes|mande|envien|envies|envie|textees|texteen|textee|mensajeen)${ES_AFTER}`,
    ),
  },
  {
    id: 'opt_out.es_no_quiero',
    pattern: new RegExp(
      String.raw`\bno (?:quiero|deseo|queremos) (?:recibir |seguir recibiendo |mas )?(?:mas )?${MESSAGES}\b|\bno quiero que me (?:escriban|manden|envien|textee|texteen|sigan escribiendo)\b`,
    ),
  },
  {
    id: 'opt_out.es_dejen_de',
    pattern: /\b(?:dej(?:en|a|e|ar)|par(?:en|a|e|ar)|termin\w*) de (?:escribir|mandar|enviar|textear|mensajear)(?:me|nos)?\b/,
  },
  { id: 'opt_out.es_basta', pattern: new RegExp(String.raw`\b(?:basta|ya no mas|no mas|cero) (?:de )?${MESSAGES}\b`) },
  {
    id: 'opt_out.es_baja',
    pattern: /\b(?:darme|dame|denme|deme|darnos|denos|me doy|me quiero dar|quiero (?:darme|que me den)|quisiera darme) de baja\b/,
  },
  {
    id: 'opt_out.es_borrenme',
    pattern:
      /\b(?:borr(?:en|e|a)|elimin(?:en|e|a)|quit(?:en|e|a)|saqu(?:en|e)|saca)me(?:$| (?:de|del) (?:su |la |tu |esta |sus |las )?(?:lista|listas|base de datos|base|sistema|registro|registros|contactos)\b)/,
  },
  { id: 'opt_out.es_borren_numero', pattern: /\b(?:borr|elimin|quit|saqu)\w* (?:mi|este) (?:numero|telefono|celular|cel)\b/ },
  { id: 'opt_out.es_cancelar', pattern: new RegExp(String.raw`\bcancel\w* (?:los |mis |sus |estos |la )?(?:suscripcion|${MESSAGES})\b`) },
  { id: 'opt_out.es_revoke', pattern: /\b(?:revoco|retiro|revocar|retirar) (?:mi |el )?(?:consentimiento|autorizacion|permiso)\b/ },
];

/** A whole-message keyword, once politeness and repetition are set aside. */
function keywordOf(bare: string): string | null {
  if (OPT_OUT_KEYWORDS.has(bare)) return bare;
  // "S T O P", "S.T.O.P": spelled out letter by letter.
  if (/^(?:\p{L} )+\p{L}$/u.test(bare) && OPT_OUT_KEYWORDS.has(bare.replace(/ /g, ''))) return bare.replace(/ /g, '');
  const words = bare.split(' ').filter((word) => word !== '' && !FILLER.has(word));
  // "stop stop stop", "STOP. STOP." → "stop"
  const distinct = words.filter((word, index) => index === 0 || word !== words[index - 1]);
  const core = distinct.join(' ');
  return core !== '' && OPT_OUT_KEYWORDS.has(core) ? core : null;
}

/** A shouted STOP inside a sentence ("STOP sending me this", "I said STOP") is a request; "DON'T STOP" and "STOP BY" are not. */
const SHOUTED_STOP = /(?<!\b(?:DON['’]?T|DO NOT|CAN['’]?T|CANNOT|NEVER|NOT|WON['’]?T|don['’]?t|do not|can['’]?t|cannot|never|not|won['’]?t)\s+)\bSTOP\b(?!\s+(?:BY|by)\b)/;

/** The id of the rule that reads `text` as an opt-out (`opt_out.keyword`, `opt_out.es_baja`…), or null. */
export function detectOptOut(text: string): string | null {
  const bare = bareWords(text);
  if (bare === '') return null;
  if (keywordOf(bare) !== null) return 'opt_out.keyword';
  for (const rule of RULES) {
    if (rule.pattern.test(bare)) return rule.id;
  }
  if (SHOUTED_STOP.test(text)) return 'opt_out.shouted_stop';
  return null;
}

/** The machine's guard and every drafter ask this. */
export function isOptOutRequest(text: string): boolean {
  return detectOptOut(text) !== null;
}

/** Only the carrier keywords (kept for callers that want exactly those). */
export function isOptOutKeyword(text: string): boolean {
  return keywordOf(bareWords(text)) !== null;
}

/**
 * The words that revoke an opt-out (carrier convention): the whole message, in any case or punctuation.
 * Anything else from an opted-out number is recorded and changes nothing.
 */
const OPT_IN_KEYWORDS: ReadonlySet<string> = new Set(['start', 'unstop', 'opt in', 'optin', 'subscribe', 'resubscribe']);

export function isOptInKeyword(text: string): boolean {
  return OPT_IN_KEYWORDS.has(bareWords(text));
}
