/**
 * Reads a payment-plan offer out of one SMS, English or Spanish, as people actually type it. Pure: the
 * clock and the zone come in `ctx`. Keyword patterns run on `foldText` output (lower case, no accents);
 * chrono-node reads relative dates from the raw text and its answers are filtered and corrected below.
 * `matched` holds rule ids only, never message text (it goes to audit logs). docs/negotiation.md.
 */
import * as chrono from 'chrono-node';
import { DateTime } from 'luxon';
import type { PlanFrequency } from '../../machines/conversation/plan.types.js';
import { foldText } from '../../machines/conversation/text.js';
import { moneyTokenToCents } from './money.js';

export interface ParsedOffer {
  /** Regular amount per period. */
  instalmentCents: number | null;
  frequency: PlanFrequency | null;
  /** Number of regular instalments. */
  count: number | null;
  /** `YYYY-MM-DD` in ctx.timeZone. */
  startOn: string | null;
  downPaymentCents: number | null;
  /** Rule ids ('offer:amount', 'offer:weekly', ...) for audit; never message text. */
  matched: string[];
}

export interface OfferContext {
  timeZone: string;
  now: Date;
  owedCents: number;
}

// ---------------------------------------------------------------------------------------------------
// Vocabulary (folded text). Typos seen in real traffic are part of the words, not a fuzzy matcher, so
// every accepted spelling is visible here.

const NUMBER_WORDS: Readonly<Record<string, number>> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  uno: 1, una: 1, dos: 2, tres: 3, cuatro: 4, cinco: 5, seis: 6, siete: 7, ocho: 8, nueve: 9, diez: 10, once: 11, doce: 12,
};
const COUNT = `(\\d{1,3}|${Object.keys(NUMBER_WORDS).join('|')})`;
const WEEK = '(?:weeks?|wks?|weaks?|weeek|wek|semanas?|semnas?|semans?|smnas?)';
const MONTH = '(?:months?|mnths?|mths?|mos?|mes|meses)';
const EACH = '(?:a|per|pr|each|every|evry|por|a la|al|cada|x)';
const WEEKDAY_EN = '(?:mon|tues|wednes|thurs|fri|satur|sun)days?';
const WEEKDAY_ES = '(?:lunes|martes|miercoles|jueves|viernes|sabados?|domingos?)';
/** "in a week", "next month": a delay, not a period. */
const NOT_A_PERIOD = '(?<!\\b(?:in|within|en|for|next|this|last|the|una|one|esta|proxima|dentro de)\\s)';
const CURRENCY = '(?:dollars?|dolares|dolars|bucks|dlls?|dls|usd|pesos)';

const FREQUENCY_PATTERNS: ReadonlyArray<readonly [PlanFrequency, RegExp]> = [
  [
    'semimonthly',
    /\b(?:twice|2 times|two times|2 ?x) (?:a|per|pr|each|every) (?:month|mo)\b|\bsemi-? ?monthly\b|\b(?:the )?(?:1st|first) and (?:the )?(?:15th|fifteenth)\b|\b(?:dos|2) veces (?:al|por|cada) mes\b|\b(?:el |los dias )?(?:1|primero) y (?:el )?15\b/g,
  ],
  [
    'biweekly',
    new RegExp(
      `\\bbi-? ?weekly\\b|\\bevery (?:two|2|other) ${WEEK}\\b|\\bfortnight(?:ly)?\\b|\\bcada (?:dos|2|otra) ${WEEK}\\b|\\b(?:every|cada) (?:14|fourteen|15|quince|catorce) (?:days|dias)\\b|\\bquincenal(?:es|mente)?\\b|\\bcatorcenal(?:es|mente)?\\b|\\bevery other ${WEEKDAY_EN}\\b`,
      'g',
    ),
  ],
  [
    'weekly',
    new RegExp(
      `${NOT_A_PERIOD}(?:\\b${EACH} ?|/ ?)${WEEK}\\b|\\bwee?kl?y\\b|\\bwkly\\b|\\bweekely\\b|\\bweakly\\b|\\bsemanal(?:es|mente)?\\b|/ ?w\\b|\\b(?:every|each|cada|todos los) (?:${WEEKDAY_EN}|${WEEKDAY_ES})\\b`,
      'g',
    ),
  ],
  ['monthly', new RegExp(`${NOT_A_PERIOD}(?:\\b${EACH} ?|/ ?)${MONTH}\\b|\\bmonthly\\b|\\bmensual(?:es|mente)?\\b|\\bmensualidad(?:es)?\\b`, 'g')],
];

/** A bare number is money when a pay verb stands right before it ("pay 150", "puedo pagar 100"). */
const PAY_BEFORE = /\b(?:pay|paying|send|give|afford|do|offer|pagar|pago|pagarle|dar|darle|mandar|mandarle|depositar|abonar|with|con)\s+(?:you |u |like |about |around |maybe |only |just |le |les |te |como |unos |solo |solamente |nomas )?$/;
/** ...or a currency word, a period, or "now/today/down" right after it. */
const MONEY_AFTER = new RegExp(`^ ?(?:\\$|${CURRENCY}\\b)`);
const DOWN_AFTER = new RegExp(`^ ?(?:${CURRENCY} )?(?:right )?(?:now|today|down|upfront|up front|ahora|ahorita|hoy|de enganche|de entrada)\\b`);
const DOWN_BEFORE = /\b(?:down payment|downpayment|enganche|pago inicial|anticipo)\s?(?:of|de)?\s?$/;
/** Not an offer: what they owe or earn ("I owe $750", "I make 500 a week"). */
const NOT_OFFER_BEFORE = /\b(?:owe|owed|debo|balance|saldo|earn|make|makes|making|gano|paid|me pagan|rent|renta|cobro)\s+(?:like |about |around |only |just |unos )?\$?\s?$/;
/** Numbers that are dates, times, counts or other things, not money. */
const NOT_MONEY_AFTER = new RegExp(
  `^ ?(?:st|nd|rd|th|ro|am|pm|%|:\\d|o'?clock|${WEEK}|${MONTH}|days?|dias?|payments?|pmts?|pagos?|installments?|instalments?|cuotas|abonos|mensualidades|times|veces|kids|children|hijos|years?|anos|hours?|hrs?|horas|people|personas)\\b`,
);
const NOT_MONEY_BEFORE = /\b(?:at|x|el|the|dia|del|on|by|el dia|a las|las|de cada|from|in|en|for|por|durante|over|next|los proximos|las proximas|every|cada)\s$/;

const NUMBER = /(?<![\w.,$])(\$ ?)?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?)(?![.,]?\d)/g;
const RANGE_TAIL = /^ ?(?:-|–|to|a|or|o) ?\$? ?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?)(?![.,]?\d)/;
const RANGE_HEAD = /\b(?:between|entre)\s$/;
const RANGE_AND = /^ ?(?:and|y) ?\$? ?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?)(?![.,]?\d)/;

const COUNT_UNIT = `(${WEEK}|${MONTH}|payments?|pmts?|pymts?|pagos|installments?|instalments?|cuotas|abonos|mensualidades)`;
/** "for 8 weeks", "x 6 wks", "durante 8 semanas", "in 3 months". */
const COUNT_PREFIXED = new RegExp(
  `\\b(for|over|during|durante|por|in|en|within|x|next|the next|los proximos|las proximas) ?(?:the next |los proximos |las proximas |about |around |unas |unos |like )?${COUNT} ?${COUNT_UNIT}\\b`,
);
/** "8 payments", "four weeks", "6 cuotas" (but not "every two weeks"). */
const COUNT_BARE = new RegExp(`(?<!\\b(?:every|each|cada|other|otra) )\\b${COUNT} ?${COUNT_UNIT}\\b`);
/** "200 x 6", "$40/wk x6". */
const COUNT_TIMES = /(?<=\d|\s|^)x ?(\d{1,3})\b(?! ?(?:\$|dollars|dlls|bucks))/;

const HALF_NOW = /\b(?:half|la mitad|mitad)\b.{0,20}\b(?:now|today|ahora|ahorita|hoy)\b/;
const REST = /\b(?:the rest|rest|remainder|remaining|other half|el resto|lo demas|lo que falta|la otra mitad)\b/;
const REST_NEXT_MONTH = /\b(?:next month|in a month|el proximo mes|el mes que viene|el siguiente mes|en un mes)\b/;
/** A message that mentions paying at all: needed before a lone count or period is called an offer. */
const PAY_CONTEXT = /\b(?:pay|paying|payments?|pagar|pago|pagos|plan|do|can(?!'?t\b|not\b)|could|puedo|puede|podria|afford|send|mandar|abonar|abonos?|cuotas)\b/;

/** The whole message is a duration: "four weeks", "maybe 8 wks", "durante 6 semanas". */
const ONLY_COUNT = new RegExp(`^(?:(?:maybe|about|like|around|for|over|in|durante|por|en|unas|unos|como|tal vez|quizas) )*${COUNT} ?${COUNT_UNIT}(?: (?:please|pls|por favor|ok))?$`);

// Only chrono results that name a day are start dates; "for 8 weeks", "at 5" and "next month" are not.
const DAY_NAMING =
  /\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|(?:mon|tues|wednes|thurs|fri|satur|sun)day|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|january|february|march|april|may|june|july|august|september|october|november|december|ene|abr|ago|dic|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|today|tomorrow|tmrw|hoy|ma[nñ]ana)\b|\d{1,2}\/\d{1,2}/i;
const TODAY_WORDS = /^(?:today|hoy|now|ahora)$/i;
/** "the 1st", "on the 15th", "el 1", "el dia 15", "a partir del 5" (not followed by a month name). */
const DAY_OF_MONTH =
  /\b(?:(?:on |starting |from |beginning )?the (\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th)|(?:el|del|al) (?:dia )?(\d{1,2}|primero))\b(?! ?(?:de (?!cada)|of )?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|ene|abr|ago|dic|semanas|meses|pagos))/;

interface Money {
  cents: number;
  start: number;
  end: number;
  explicit: boolean;
  down: boolean;
  range: boolean;
}

interface FrequencyHit {
  frequency: PlanFrequency;
  start: number;
  end: number;
}

function countValue(token: string): number {
  return /^\d+$/.test(token) ? Number.parseInt(token, 10) : (NUMBER_WORDS[token] ?? 0);
}

function frequencyHits(folded: string): FrequencyHit[] {
  const accepted: FrequencyHit[] = [];
  // In priority order, so "twice a month" is semimonthly and its "a month" is not also monthly.
  for (const [frequency, pattern] of FREQUENCY_PATTERNS) {
    for (const match of folded.matchAll(pattern)) {
      const hit = { frequency, start: match.index, end: match.index + match[0].length };
      if (!accepted.some((other) => hit.start < other.end && other.start < hit.end)) accepted.push(hit);
    }
  }
  return accepted.sort((a, b) => a.start - b.start);
}

function moneyIn(folded: string): Money[] {
  const found: Money[] = [];
  for (const match of folded.matchAll(NUMBER)) {
    const start = match.index;
    let end = start + match[0].length;
    const before = folded.slice(0, start);
    let after = folded.slice(end);
    let cents = moneyTokenToCents(match[2]);
    if (cents === null) continue;
    let range = false;
    const tail = RANGE_TAIL.exec(after) ?? (RANGE_HEAD.test(before) ? RANGE_AND.exec(after) : null);
    const upper = tail ? moneyTokenToCents(tail[1]) : null;
    if (tail && upper !== null && !NOT_MONEY_AFTER.test(after.slice(tail[0].length))) {
      // "$40-50 a week": a range offers its lower bound.
      range = true;
      cents = Math.min(cents, upper);
      end += tail[0].length;
      after = folded.slice(end);
    }
    const dollarAfter = /^ ?\$/.test(after);
    const explicit = match[1] !== undefined || MONEY_AFTER.test(after) || dollarAfter;
    if (NOT_OFFER_BEFORE.test(before)) continue;
    if (!explicit && (NOT_MONEY_AFTER.test(after) || NOT_MONEY_BEFORE.test(before))) continue;
    const down = DOWN_AFTER.test(after) || DOWN_BEFORE.test(before);
    const period = periodAdjacentAfter(after) || periodAdjacentBefore(before);
    if (!explicit && !down && !period && !PAY_BEFORE.test(before)) continue;
    found.push({ cents, start, end, explicit, down, range });
  }
  return found;
}

/** A period phrase right after an amount, past an optional currency word: "50 bucks weekly", "200/wk". */
function periodAdjacentAfter(after: string): boolean {
  const rest = after.replace(new RegExp(`^ ?(?:\\$|${CURRENCY}\\b)`), '');
  return frequencyHits(rest.slice(0, 30)).some((hit) => /^[\s,-]*$/.test(rest.slice(0, hit.start)));
}

/** The period phrase stated with this amount ("$50 a week", "weekly payments of $50"), if any. */
/** A period phrase right before an amount: "quincenal 150", "weekly payments of 50". */
function periodAdjacentBefore(before: string): boolean {
  const tail = before.slice(-40);
  return frequencyHits(tail).some((hit) => /^ ?(?:payments? |pagos )?(?:of |de )?(?:about |around |like |unos )?$/.test(tail.slice(hit.end)));
}

function adjacentFrequency(hits: FrequencyHit[], amount: Money): FrequencyHit | undefined {
  return hits.find((hit) => hit.start >= amount.end && hit.start - amount.end <= 12) ?? hits.find((hit) => hit.end <= amount.start && amount.start - hit.end <= 16);
}

type CountUnit = 'week' | 'month' | 'payment';

function unitOf(token: string): CountUnit {
  if (new RegExp(`^${WEEK}$`).test(token)) return 'week';
  if (new RegExp(`^${MONTH}$`).test(token) || token === 'mensualidades') return 'month';
  return 'payment';
}

interface CountMention {
  value: number;
  unit: CountUnit;
  /** "in 3 months" is a delay unless a period is stated; "for 3 months" is a duration. */
  delay: boolean;
}

function countIn(folded: string): CountMention | null {
  const prefixed = COUNT_PREFIXED.exec(folded);
  if (prefixed) return { value: countValue(prefixed[2]), unit: unitOf(prefixed[3]), delay: /^(?:in|en|within|next|the next)$/.test(prefixed[1]) };
  const times = COUNT_TIMES.exec(folded);
  if (times) return { value: countValue(times[1]), unit: 'payment', delay: false };
  const bare = COUNT_BARE.exec(folded);
  if (bare) return { value: countValue(bare[1]), unit: unitOf(bare[2]), delay: false };
  return null;
}

/** A count in the plan's own periods; null when the units do not convert exactly ("for 5 weeks" biweekly). */
function countInPeriods(mention: CountMention, frequency: PlanFrequency): number | null {
  if (mention.unit === 'payment') return mention.value;
  if (mention.unit === 'week') {
    if (frequency === 'weekly') return mention.value;
    if (frequency === 'biweekly' && mention.value % 2 === 0) return mention.value / 2;
    return null;
  }
  if (frequency === 'monthly') return mention.value;
  if (frequency === 'semimonthly') return mention.value * 2;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Dates.

function todayIn(ctx: OfferContext): DateTime {
  return DateTime.fromJSDate(ctx.now, { zone: ctx.timeZone }).startOf('day');
}

/**
 * The first date in the message that names a day, by chrono (English and Spanish), corrected:
 * - chrono takes a zone abbreviation or an offset, not an IANA name, so the offset at `now` is passed;
 * - a bare weekday that chrono resolves to today (it does so only before some hour) means next week's;
 * - "pasado mañana" comes back as "mañana": one day is added;
 * - durations ("for 8 weeks"), times ("at 5") and "next month" are dropped: they name no day.
 */
function chronoStart(text: string, ctx: OfferContext, skipToday: boolean): { date: DateTime; index: number } | null {
  const reference = { instant: ctx.now, timezone: DateTime.fromJSDate(ctx.now, { zone: ctx.timeZone }).offset };
  const today = todayIn(ctx);
  const results = [...chrono.parse(text, reference, { forwardDate: true }), ...chrono.es.parse(text, reference, { forwardDate: true })].sort(
    (a, b) => a.index - b.index,
  );
  for (const result of results) {
    if (!DAY_NAMING.test(result.text)) continue;
    if (skipToday && TODAY_WORDS.test(result.text.trim())) continue;
    let date = DateTime.fromObject(
      { year: result.start.get('year') ?? undefined, month: result.start.get('month') ?? undefined, day: result.start.get('day') ?? undefined },
      { zone: ctx.timeZone },
    );
    if (!date.isValid) continue;
    if (/pasado\s+$/i.test(text.slice(0, result.index)) && /^ma[nñ]ana$/i.test(result.text.trim())) date = date.plus({ days: 1 });
    const weekdayOnly = result.start.isCertain('weekday') && !result.start.isCertain('day');
    if (weekdayOnly && date.hasSame(today, 'day')) date = date.plus({ days: 7 });
    if (date < today) continue;
    return { date, index: result.index };
  }
  return null;
}

/** "the 1st", "el 15": the next such day of month on or after today (clamped to short months). */
function dayOfMonthStart(folded: string, ctx: OfferContext): DateTime | null {
  const match = DAY_OF_MONTH.exec(folded);
  if (!match) return null;
  const token = match[1] ?? match[2] ?? match[3];
  const wanted = token === 'primero' ? 1 : Number.parseInt(token, 10);
  if (wanted < 1 || wanted > 31) return null;
  const today = todayIn(ctx);
  const inMonth = (month: DateTime) => month.set({ day: Math.min(wanted, month.daysInMonth ?? 28) });
  const thisMonth = inMonth(today.startOf('month'));
  return thisMonth >= today ? thisMonth : inMonth(today.startOf('month').plus({ months: 1 }));
}

// ---------------------------------------------------------------------------------------------------

/** The offer stated in `text`, or null when it states no amount, count or plan at all. */
export function parseOffer(text: string, ctx: OfferContext): ParsedOffer | null {
  const folded = foldText(text);
  const matched: string[] = [];
  const note = (id: string) => {
    if (!matched.includes(id)) matched.push(id);
  };

  const money = moneyIn(folded);
  const hits = frequencyHits(folded);
  const downMention = money.find((entry) => entry.down);
  // The instalment is the amount stated with a period, else the first amount that is not a down payment.
  const instalmentMention = money.find((entry) => !entry.down && adjacentFrequency(hits, entry)) ?? money.find((entry) => !entry.down);

  let downPaymentCents = downMention?.cents ?? null;
  let instalmentCents = instalmentMention?.cents ?? null;
  if (instalmentMention) {
    note('offer:amount');
    if (!instalmentMention.explicit) note('offer:bare_amount');
    if (instalmentMention.range) note('offer:range');
  }

  let frequency: PlanFrequency | null = ((instalmentMention && adjacentFrequency(hits, instalmentMention)) ?? hits[0])?.frequency ?? null;
  let count: number | null = null;

  const halfNow = HALF_NOW.test(folded);
  if (halfNow && downPaymentCents === null && ctx.owedCents > 0) {
    // "half now and the rest next month": the larger half today.
    downPaymentCents = ctx.owedCents - Math.floor(ctx.owedCents / 2);
    note('offer:half_now');
  }
  if (downPaymentCents !== null) {
    note('offer:down_payment');
    if (downMention?.range) note('offer:range');
  }
  const mention = countIn(folded);
  if (downPaymentCents !== null && instalmentCents === null && !mention && REST.test(folded) && ctx.owedCents > downPaymentCents && (frequency === null || REST_NEXT_MONTH.test(folded))) {
    // "...and the rest next month" / "el resto el viernes": the rest as one payment.
    instalmentCents = ctx.owedCents - downPaymentCents;
    count = 1;
    frequency = 'monthly';
    note('offer:rest_once');
  }

  if (count === null && mention && mention.value > 0 && !(mention.delay && frequency === null)) {
    if (frequency === null && mention.unit !== 'payment') {
      frequency = mention.unit === 'week' ? 'weekly' : 'monthly';
      note('offer:frequency_from_count');
    }
    count = frequency === null ? mention.value : countInPeriods(mention, frequency);
    note(count === null ? 'offer:count_unit_mismatch' : 'offer:count');
  } else if (count === null && mention && mention.delay) {
    note('offer:delay_not_count');
  }
  if (frequency !== null) note(`offer:${frequency}`);

  if (instalmentCents === null && downPaymentCents === null) {
    // A lone count or period is an offer only with a word about paying ("I can do 8 weeks") or as the
    // whole answer ("four weeks"); "I was sick for 2 weeks" is not one.
    const onlyCount = ONLY_COUNT.test(folded.replace(/[^\p{L}\p{N} ]/gu, '').trim());
    if ((count === null && frequency === null) || !(PAY_CONTEXT.test(folded) || onlyCount)) return null;
  }

  // Dates last, and only for an offer: chrono reads the text twice (English, Spanish), most of a turn's parsing.
  const dayOfMonth = frequency === 'semimonthly' ? null : dayOfMonthStart(folded, ctx);
  const chronoDate = chronoStart(text, ctx, downPaymentCents !== null);
  const start = chronoDate?.date ?? dayOfMonth;
  const startOn = start ? (start.toISODate() as string) : null;
  if (startOn) note('offer:start');
  return { instalmentCents, frequency, count, startOn, downPaymentCents, matched };
}
