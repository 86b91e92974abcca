/**
 * "Don't text me at work", "only after 6pm": a debtor's own word about inconvenient times (Reg F
 * §1006.6(b)(1): a time the consumer says is inconvenient). Read from their messages by code, stored per
 * number, honoured by the calling-hours check. Pure. English and Spanish.
 */
import { foldText } from '../../machines/conversation/text.js';

export interface ContactPreference {
  /** Local hour from which texts are welcome ("after 6pm" → 18). */
  earliestHour: number | null;
  /** Local hour by which texts must stop ("not after 8pm", "before 5" → 20, 17). */
  latestHour: number | null;
  /** No texts during working hours on weekdays. */
  notAtWork: boolean;
}

/** Working hours a "not at work" preference keeps clear (weekdays, local time). */
export const WORK_HOURS = { from: 9, to: 17 } as const;

const HOUR = String.raw`(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?`;
const AFTER = new RegExp(String.raw`\b(?:only |just )?(?:after|not before|from)\s+${HOUR}`);
const BEFORE = new RegExp(String.raw`\b(?:only |just )?(?:before|not after|until|till)\s+${HOUR}`);
/** "Don't text me after 8pm" asks for a latest hour, not an earliest one. */
const NEGATED_AFTER = new RegExp(String.raw`\b(?:don'?t|do not|dont|never|no)\b[^.!?]{0,40}?\bafter\s+${HOUR}`);
const ES_AFTER = new RegExp(String.raw`\b(?:solo |solamente )?(?:despues de las|a partir de las|no antes de las)\s+${HOUR}`);
const ES_BEFORE = new RegExp(String.raw`\b(?:solo |solamente )?(?:antes de las|no despues de las|hasta las)\s+${HOUR}`);
const AT_WORK = /\b(?:(?:don'?t|do not|dont|never|stop) (?:text|message|contact|call)(?:ing)? me (?:at|while at|during) work|not (?:at|during) work|i(?:'m| am) at work (?:all day|during the day)|during (?:my )?work(?:ing)? hours|no me (?:escriban|manden mensajes|contacten|llamen) (?:en|durante) el trabajo|estoy en el trabajo)\b/;
/** Times must be about contact: a message about paying "after the 15th" is no preference. */
const ABOUT_CONTACT = /\b(text|message|contact|call|write|reach|escrib|mensaj|contact|llam|text)\w*/;

function toHour(hour: string, minutes: string | undefined, meridiem: string | undefined, assumePm: boolean): number | null {
  let value = Number(hour);
  if (!Number.isInteger(value) || value > 23) return null;
  const pm = meridiem ? meridiem.startsWith('p') : assumePm && value >= 1 && value <= 8;
  if (pm && value < 12) value += 12;
  if (meridiem?.startsWith('a') && value === 12) value = 0;
  return minutes && Number(minutes) > 0 ? Math.min(value + 1, 24) : value;
}

/** The preference a message states, or null. A bare "after 6" means 6 pm: nobody asks for texts after 6 am. */
export function detectContactPreference(text: string): ContactPreference | null {
  const folded = foldText(text);
  const notAtWork = AT_WORK.test(folded);
  const timeAboutContact = ABOUT_CONTACT.test(folded);
  const negatedAfter = timeAboutContact ? NEGATED_AFTER.exec(folded) : null;
  const after = timeAboutContact && !negatedAfter ? (AFTER.exec(folded) ?? ES_AFTER.exec(folded)) : null;
  const before = timeAboutContact ? (negatedAfter ?? BEFORE.exec(folded) ?? ES_BEFORE.exec(folded)) : null;
  const earliestHour = after ? toHour(after[1], after[2], after[3], true) : null;
  const latestHour = before ? toHour(before[1], before[2], before[3], true) : null;
  if (!notAtWork && earliestHour === null && latestHour === null) return null;
  return { earliestHour, latestHour, notAtWork };
}

/** Is this local time one the debtor asked us to keep clear? */
export function isInconvenient(preference: ContactPreference | null, localHour: number, weekday: number): boolean {
  if (!preference) return false;
  if (preference.earliestHour !== null && localHour < preference.earliestHour) return true;
  if (preference.latestHour !== null && localHour >= preference.latestHour) return true;
  return preference.notAtWork && weekday <= 5 && localHour >= WORK_HOURS.from && localHour < WORK_HOURS.to;
}

const clock12 = (hour: number) => `${hour % 12 === 0 ? 12 : hour % 12}${hour < 12 || hour === 24 ? 'am' : 'pm'}`;

/**
 * The sentence a reply carries to acknowledge a preference the debtor just stated ("Noted: we will text you
 * only after 6pm, and not during work hours."), so they know it was heard, not only stored.
 */
export function acknowledgePreference(preference: ContactPreference, language: 'en' | 'es'): string {
  if (language === 'es') {
    const times = [
      preference.earliestHour !== null ? `después de las ${preference.earliestHour}:00` : null,
      preference.latestHour !== null ? `antes de las ${preference.latestHour}:00` : null,
    ].filter(Boolean);
    if (times.length === 0) return 'Anotado: no le escribiremos en horario de trabajo.';
    return `Anotado: le escribiremos solo ${times.join(' y ')}${preference.notAtWork ? ', y no en horario de trabajo' : ''}.`;
  }
  const times = [
    preference.earliestHour !== null ? `after ${clock12(preference.earliestHour)}` : null,
    preference.latestHour !== null ? `before ${clock12(preference.latestHour)}` : null,
  ].filter(Boolean);
  if (times.length === 0) return 'Noted: we will not text you during work hours.';
  return `Noted: we will text you only ${times.join(' and ')}${preference.notAtWork ? ', and not during work hours' : ''}.`;
}
