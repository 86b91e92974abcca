/**
 * The plan restated in the debtor's language, for them to confirm: number of payments, amounts, first
 * and last dates, total. It must fit in 100 characters (a 49-character footer and "Reply YES to agree."
 * follow, and SMS is 160), so it tries shorter wordings in turn and uses the first that fits; the last
 * one fits for any plan of up to 13 payments with amounts under $100,000 (property-tested).
 * Day and month names come from our own tables, not the runtime's ICU data, so output is identical on
 * every machine.
 */
import { DateTime } from 'luxon';
import type { PaymentPlan, PlanFrequency } from '../../machines/conversation/plan.types.js';
import { formatCents } from './money.js';

export type PlanLanguage = 'en' | 'es';

export const MAX_PLAN_TEXT = 100;

const MONTHS: Record<PlanLanguage, readonly string[]> = {
  en: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  es: ['ene', 'feb', 'mar', 'abr', 'may', 'jun', 'jul', 'ago', 'sep', 'oct', 'nov', 'dic'],
};
const WEEKDAYS: Record<PlanLanguage, readonly string[]> = {
  en: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
  es: ['lun', 'mar', 'mié', 'jue', 'vie', 'sáb', 'dom'],
};
const FREQUENCY: Record<PlanLanguage, Record<PlanFrequency, string>> = {
  en: { weekly: 'weekly', biweekly: 'biweekly', semimonthly: 'twice-monthly', monthly: 'monthly' },
  es: { weekly: 'semanales', biweekly: 'quincenales', semimonthly: 'dos veces al mes', monthly: 'mensuales' },
};

interface Words {
  date: (iso: string, weekday: boolean) => string;
  payments: (count: number, frequency: PlanFrequency) => string;
  one: string;
  down: (amount: string) => string;
  from: string;
  on: string;
  last: (amount: string, date: string) => string;
  through: (date: string) => string;
  total: (amount: string) => string;
}

const WORDS: Record<PlanLanguage, Words> = {
  en: {
    date: (iso, weekday) => {
      const day = DateTime.fromISO(iso);
      const text = `${MONTHS.en[day.month - 1]} ${day.day}`;
      return weekday ? `${WEEKDAYS.en[day.weekday - 1]}, ${text}` : text;
    },
    payments: (count, frequency) => `${count} ${FREQUENCY.en[frequency]} payment${count === 1 ? '' : 's'}`,
    one: '1 payment',
    down: (amount) => `${amount} today, then `,
    from: 'from',
    on: 'on',
    last: (amount, date) => `, last ${amount} on ${date}`,
    through: (date) => ` to ${date}`,
    total: (amount) => ` Total ${amount}.`,
  },
  es: {
    date: (iso, weekday) => {
      const day = DateTime.fromISO(iso);
      const text = `${day.day} de ${MONTHS.es[day.month - 1]}`;
      return weekday ? `${WEEKDAYS.es[day.weekday - 1]} ${text}` : text;
    },
    payments: (count, frequency) => (count === 1 ? '1 pago' : `${count} pagos ${FREQUENCY.es[frequency]}`),
    one: '1 pago',
    down: (amount) => `${amount} hoy, luego `,
    from: 'desde el',
    on: 'el',
    last: (amount, date) => `, último ${amount} el ${date}`,
    through: (date) => ` al ${date}`,
    total: (amount) => ` Total ${amount}.`,
  },
};

/** Wordings from the fullest to the tersest; `describePlan` returns the first within MAX_PLAN_TEXT. */
function wordings(plan: PaymentPlan, language: PlanLanguage): string[] {
  const w = WORDS[language];
  const instalments = plan.schedule.slice(plan.downPaymentCents > 0 ? 1 : 0);
  const total = w.total(formatCents(plan.totalCents));
  const down = plan.downPaymentCents > 0 ? w.down(formatCents(plan.downPaymentCents)) : '';
  if (instalments.length === 0) {
    // Only the down payment: one payment today.
    const date = plan.schedule[0]?.dueOn ?? '';
    return [true, false].map((weekday) => `${w.one}: ${formatCents(plan.totalCents)} ${w.on} ${w.date(date, weekday)}.`);
  }
  const first = instalments[0];
  const last = instalments[instalments.length - 1];
  const amount = formatCents(first.amountCents);
  const variants: string[] = [];
  for (const weekday of [true, false]) {
    let body: string;
    if (instalments.length === 1) body = `${w.one}: ${amount} ${w.on} ${w.date(first.dueOn, weekday)}.`;
    else if (last.amountCents === first.amountCents)
      body = `${w.payments(instalments.length, plan.frequency)}: ${amount} ${w.from} ${w.date(first.dueOn, weekday)}${w.through(w.date(last.dueOn, false))}.`;
    else
      body = `${w.payments(instalments.length, plan.frequency)}: ${amount} ${w.from} ${w.date(first.dueOn, weekday)}${w.last(formatCents(last.amountCents), w.date(last.dueOn, false))}.`;
    variants.push(`${down}${body}${total}`);
  }
  // Tersest: counts and amounts, first and last dates; the frequency is implied by the dates.
  const terse = language === 'en' ? 'then' : 'luego';
  const shortDown = plan.downPaymentCents > 0 ? `${formatCents(plan.downPaymentCents)} ${language === 'en' ? 'today' : 'hoy'}, ${terse} ` : '';
  const lastPart = last.amountCents === first.amountCents || instalments.length === 1 ? '' : ` (${language === 'en' ? 'last' : 'últ.'} ${formatCents(last.amountCents)})`;
  variants.push(
    `${shortDown}${instalments.length}x${amount}${lastPart} ${w.date(first.dueOn, false)}-${w.date(last.dueOn, false)}.${total}`,
  );
  return variants;
}

/** The fullest wording within `maxLength` characters (the tersest when none fits). */
export function describePlan(plan: PaymentPlan, language: PlanLanguage, maxLength = MAX_PLAN_TEXT): string {
  const variants = wordings(plan, language);
  return variants.find((text) => [...text].length <= maxLength) ?? variants[variants.length - 1];
}

/** A due date as the restatement writes it: "Fri, Dec 4" / "vie 4 de dic". */
export function formatDueDate(iso: string, language: PlanLanguage, weekday = true): string {
  return WORDS[language].date(iso, weekday);
}
