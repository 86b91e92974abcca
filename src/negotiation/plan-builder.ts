/**
 * From a (possibly partial) offer to a complete PaymentPlan: amounts in integer cents, dates as
 * `YYYY-MM-DD` in the debtor's zone, computed with luxon so months and DST are the calendar's, not ours.
 * Pure: `today` is an argument.
 */
import { DateTime } from 'luxon';
import type { PaymentPlan, PlanFrequency } from '../../machines/conversation/plan.types.js';
import { ceilDiv } from './money.js';
import type { ParsedOffer } from './offer-parser.js';

/** No plan runs longer than two years of weekly payments, whatever the arithmetic says. */
export const MAX_INSTALMENTS = 104;

/** The plan policy's default window for the first payment (`PLAN_MAX_DAYS_TO_FIRST_PAYMENT`). */
export const DEFAULT_MAX_DAYS_TO_FIRST_PAYMENT = 30;

export interface PlanBuildContext {
  owedCents: number;
  /** `YYYY-MM-DD` in the debtor's zone. */
  today: string;
  timeZone: string;
  /**
   * The policy's window for the first payment: a date the builder picks itself falls inside it, so the
   * policy never refuses the builder's own choice (a month from Dec 31 is 31 days away).
   */
  maxDaysToFirstPayment?: number;
}

/** An exact fraction of weeks; compare two by cross-multiplication, never by dividing. */
export interface Weeks {
  num: number;
  den: number;
}

/** Length of one period in weeks: a month is 52/12 weeks, half a month 26/12 (reduced). */
export function periodWeeks(frequency: PlanFrequency): Weeks {
  switch (frequency) {
    case 'weekly':
      return { num: 1, den: 1 };
    case 'biweekly':
      return { num: 2, den: 1 };
    case 'semimonthly':
      return { num: 13, den: 6 };
    case 'monthly':
      return { num: 13, den: 3 };
  }
}

/** Plan length in weeks: regular instalments × period (a down payment adds no length). */
export function weeksOf(plan: Pick<PaymentPlan, 'count' | 'frequency'>): Weeks {
  const period = periodWeeks(plan.frequency);
  return { num: plan.count * period.num, den: period.den };
}

/** The regular instalment spread per week, rounded down to the cent (for display and ordering). */
export function weeklyEquivalentCents(plan: Pick<PaymentPlan, 'instalmentCents' | 'frequency'>): number {
  const period = periodWeeks(plan.frequency);
  return Math.floor((plan.instalmentCents * period.den) / period.num);
}

function day(iso: string, timeZone: string): DateTime {
  return DateTime.fromISO(iso, { zone: timeZone }).startOf('day');
}

/** The date of instalment `index` (0-based) of a schedule starting on `start`. */
export function nthDueDate(start: string, frequency: PlanFrequency, index: number, timeZone: string): string {
  const first = day(start, timeZone);
  let due: DateTime;
  switch (frequency) {
    case 'weekly':
      due = first.plus({ days: 7 * index });
      break;
    case 'biweekly':
      due = first.plus({ days: 14 * index });
      break;
    case 'monthly':
      // Always from the start, so Jan 31 gives Feb 28 then Mar 31 (clamped, not drifting).
      due = first.plus({ months: index });
      break;
    case 'semimonthly': {
      // Two a month: the start day (clamped) and 14 days after it; the 1st gives the 1st and the 15th.
      const anchor = first.plus({ months: Math.floor(index / 2) });
      due = index % 2 === 0 ? anchor : anchor.plus({ days: 14 });
      break;
    }
  }
  return due.toISODate() as string;
}

/** One period after `today`; for semimonthly the next 1st or 15th strictly after today. */
export function defaultStart(frequency: PlanFrequency, today: string, timeZone: string): string {
  const base = day(today, timeZone);
  switch (frequency) {
    case 'weekly':
      return base.plus({ days: 7 }).toISODate() as string;
    case 'biweekly':
      return base.plus({ days: 14 }).toISODate() as string;
    case 'monthly':
      return base.plus({ months: 1 }).toISODate() as string;
    case 'semimonthly':
      return (base.day < 15 ? base.set({ day: 15 }) : base.plus({ months: 1 }).set({ day: 1 })).toISODate() as string;
  }
}

export interface ScheduleInput {
  frequency: PlanFrequency;
  /** > 0 unless there are no regular instalments. */
  instalmentCents: number;
  /** Upper bound on regular instalments; fewer are scheduled when the balance is covered sooner. */
  maxCount: number;
  downPaymentCents: number;
  /** First regular instalment; must be after `today` when there is a down payment. */
  startOn: string;
  owedCents: number;
  today: string;
  timeZone: string;
}

/**
 * The schedule itself: down payment today, then instalments of `instalmentCents` until either the count
 * or the balance runs out; the last one is the remainder, so the total never exceeds the balance.
 */
export function schedulePlan(input: ScheduleInput): PaymentPlan {
  const down = Math.max(0, Math.min(input.downPaymentCents, input.owedCents));
  const remaining = input.owedCents - down;
  const count =
    input.instalmentCents > 0 && remaining > 0
      ? Math.min(input.maxCount, ceilDiv(remaining, input.instalmentCents), MAX_INSTALMENTS)
      : 0;
  const schedule: PaymentPlan['schedule'] = down > 0 ? [{ dueOn: input.today, amountCents: down }] : [];
  let left = remaining;
  for (let index = 0; index < count; index += 1) {
    const amountCents = Math.min(input.instalmentCents, left);
    left -= amountCents;
    schedule.push({ dueOn: nthDueDate(input.startOn, input.frequency, index, input.timeZone), amountCents });
  }
  return {
    frequency: input.frequency,
    instalmentCents: count > 0 ? Math.min(input.instalmentCents, remaining) : 0,
    count,
    downPaymentCents: down,
    totalCents: schedule.reduce((sum, entry) => sum + entry.amountCents, 0),
    schedule,
  };
}

/**
 * A full plan from an offer, or null when the offer is not a plan: no amount at all, or an amount with
 * neither a period nor a count (a one-off promise). See docs/negotiation.md for every default.
 */
export function buildPlan(offer: ParsedOffer, ctx: PlanBuildContext): PaymentPlan | null {
  const owed = ctx.owedCents;
  if (!Number.isSafeInteger(owed) || owed <= 0) return null;
  if (!day(ctx.today, ctx.timeZone).isValid) return null;
  const down = Math.max(0, Math.min(offer.downPaymentCents ?? 0, owed));
  const remaining = owed - down;
  let instalment = offer.instalmentCents !== null && offer.instalmentCents > 0 ? offer.instalmentCents : 0;
  if (instalment === 0 && down === 0) return null;

  // A count without a period is taken to be weeks (the parser infers the period from the count's unit).
  let frequency: PlanFrequency | null = offer.frequency ?? (offer.count !== null ? 'weekly' : null);
  if (remaining === 0) frequency ??= 'monthly'; // down payment covers everything: the frequency is moot
  if (frequency === null) return null;

  const count = offer.count !== null && offer.count > 0 ? Math.min(offer.count, MAX_INSTALMENTS) : null;
  if (instalment === 0 && remaining > 0) {
    // "$100 down and the rest over 4 weeks": split the rest evenly (cents rounded up, last is the remainder).
    if (count === null) return null;
    instalment = ceilDiv(remaining, count);
  }

  // No date named: one period from today, or the last day the policy allows if that comes first (today, when
  // it allows no later day). The down payment is due today; instalments start after it so dates strictly
  // increase, at the earliest tomorrow (a window of today alone has no room for them: the policy's
  // counter-proposal folds the down payment in).
  const chosenStart = () => {
    const window = Math.max(down > 0 ? 1 : 0, ctx.maxDaysToFirstPayment ?? DEFAULT_MAX_DAYS_TO_FIRST_PAYMENT);
    const latest = day(ctx.today, ctx.timeZone).plus({ days: window }).toISODate() as string;
    const start = defaultStart(frequency, ctx.today, ctx.timeZone);
    return start > latest ? latest : start;
  };
  let startOn = offer.startOn ?? chosenStart();
  if (down > 0 && startOn <= ctx.today) startOn = chosenStart();
  if (!day(startOn, ctx.timeZone).isValid) return null;

  return schedulePlan({
    frequency,
    instalmentCents: instalment,
    maxCount: count ?? MAX_INSTALMENTS,
    downPaymentCents: down,
    startOn,
    owedCents: owed,
    today: ctx.today,
    timeZone: ctx.timeZone,
  });
}
