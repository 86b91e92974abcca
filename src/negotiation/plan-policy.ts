/**
 * The plan policy: what we accept, what a manager must approve, and the closest acceptable plan when we
 * cannot accept. Pure and exact: lengths are fractions of weeks compared by cross-multiplication, money
 * is integer cents. The counter-proposal is computed here, by code, never by a model.
 */
import { DateTime } from 'luxon';
import { PLAN_FREQUENCIES, type PaymentPlan, type PlanFrequency, type PlanVerdict } from '../../machines/conversation/plan.types.js';
import { ceilDiv, ceilToDollar } from './money.js';
import { DEFAULT_MAX_DAYS_TO_FIRST_PAYMENT, MAX_INSTALMENTS, defaultStart, periodWeeks, schedulePlan, weeksOf } from './plan-builder.js';

export interface PlanPolicy {
  /** Smallest acceptable regular amount, per week equivalent. */
  minWeeklyCents: number;
  /** Longest plan, in weeks (count × period). */
  maxWeeks: number;
  /** Smallest acceptable total, in basis points of the balance (9000 = 90%). */
  minTotalBasisPoints: number;
  /** The first payment is due within this many days of today. */
  maxDaysToFirstPayment: number;
  /** Plans up to this many weeks are agreed without a manager. */
  autoAgreeMaxWeeks: number;
  /** From this many failed plans on, every plan needs a manager. */
  managerAfterFailedPlans: number;
  /** A counter-proposal may ask at most this multiple of the weekly amount the debtor offered. */
  maxCounterRatio: number;
}

export const DEFAULT_PLAN_POLICY: PlanPolicy = Object.freeze({
  minWeeklyCents: 2500,
  maxWeeks: 12,
  minTotalBasisPoints: 9000,
  maxDaysToFirstPayment: DEFAULT_MAX_DAYS_TO_FIRST_PAYMENT,
  autoAgreeMaxWeeks: 4,
  managerAfterFailedPlans: 2,
  maxCounterRatio: 3,
});

/** Stable, machine-readable; the first group makes a plan invalid, the second only needs a manager. */
export type PlanReason =
  | 'no_balance'
  | 'malformed_plan'
  | 'below_min_weekly'
  | 'too_long'
  | 'total_too_low'
  | 'total_above_balance'
  | 'first_payment_too_late'
  | 'first_payment_in_past'
  | 'longer_than_auto_agree'
  | 'prior_failed_plans';

export interface PlanEvaluation {
  verdict: PlanVerdict;
  reasons: PlanReason[];
  counterProposal: PaymentPlan | null;
}

export interface PlanPolicyContext {
  owedCents: number;
  /** `YYYY-MM-DD` in the debtor's zone. */
  today: string;
  timeZone: string;
  failedPlans: number;
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

function calendarDay(iso: string, timeZone: string): DateTime | null {
  if (typeof iso !== 'string' || !ISO_DAY.test(iso)) return null;
  const parsed = DateTime.fromISO(iso, { zone: timeZone });
  return parsed.isValid ? parsed.startOf('day') : null;
}

const isCents = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

/** Internally consistent: what buildPlan produces. Anything else is judged `malformed_plan`. */
function wellFormed(plan: PaymentPlan, timeZone: string): boolean {
  if (!plan || !PLAN_FREQUENCIES.includes(plan.frequency) || !Array.isArray(plan.schedule) || plan.schedule.length === 0) return false;
  if (!isCents(plan.instalmentCents) || plan.instalmentCents < 0 || !isCents(plan.downPaymentCents) || plan.downPaymentCents < 0) return false;
  if (!Number.isSafeInteger(plan.count) || plan.count < 0 || plan.count > MAX_INSTALMENTS || !isCents(plan.totalCents)) return false;
  let sum = 0;
  let previous = '';
  for (const entry of plan.schedule) {
    if (!entry || !isCents(entry.amountCents) || entry.amountCents <= 0 || calendarDay(entry.dueOn, timeZone) === null) return false;
    if (entry.dueOn <= previous) return false;
    previous = entry.dueOn;
    sum += entry.amountCents;
  }
  return sum === plan.totalCents && plan.schedule.length === plan.count + (plan.downPaymentCents > 0 ? 1 : 0);
}

/** Why the policy cannot accept this plan; empty when it can. */
function invalidReasons(plan: PaymentPlan, ctx: PlanPolicyContext, policy: PlanPolicy): PlanReason[] {
  const owed = ctx.owedCents;
  const today = calendarDay(ctx.today, ctx.timeZone);
  if (!isCents(owed) || owed <= 0 || today === null) return ['no_balance'];
  if (!wellFormed(plan, ctx.timeZone)) return ['malformed_plan'];
  const reasons: PlanReason[] = [];
  const period = periodWeeks(plan.frequency);
  // A plan that settles everything in (at most) one regular payment is not held to the weekly minimum:
  // a balance under $25 may be paid at once.
  const paysAtOnce = plan.count <= 1 && plan.totalCents >= owed;
  if (!paysAtOnce && plan.instalmentCents * period.den < policy.minWeeklyCents * period.num) reasons.push('below_min_weekly');
  const weeks = weeksOf(plan);
  if (weeks.num > policy.maxWeeks * weeks.den) reasons.push('too_long');
  if (BigInt(plan.totalCents) * 10_000n < BigInt(owed) * BigInt(policy.minTotalBasisPoints)) reasons.push('total_too_low');
  if (plan.totalCents > owed) reasons.push('total_above_balance');
  const first = plan.schedule[0].dueOn;
  if (first < (today.toISODate() as string)) reasons.push('first_payment_in_past');
  if (first > (today.plus({ days: policy.maxDaysToFirstPayment }).toISODate() as string)) reasons.push('first_payment_too_late');
  return reasons;
}

export function evaluatePlan(plan: PaymentPlan, ctx: PlanPolicyContext, policy: PlanPolicy = DEFAULT_PLAN_POLICY): PlanEvaluation {
  const invalid = invalidReasons(plan, ctx, policy);
  if (invalid.length > 0) {
    const counter = invalid[0] === 'no_balance' ? null : counterProposal(plan, ctx, policy);
    return { verdict: 'invalid', reasons: invalid, counterProposal: counter };
  }
  const reasons: PlanReason[] = [];
  const weeks = weeksOf(plan);
  if (weeks.num > policy.autoAgreeMaxWeeks * weeks.den) reasons.push('longer_than_auto_agree');
  if (ctx.failedPlans >= policy.managerAfterFailedPlans) reasons.push('prior_failed_plans');
  return { verdict: reasons.length > 0 ? 'needs_approval' : 'valid', reasons, counterProposal: null };
}

/**
 * The closest plan the policy accepts: the debtor's frequency, start (clamped into the allowed window)
 * and down payment, covering the FULL balance; their instalment if it fits in maxWeeks, else the smallest
 * whole-dollar instalment that does; weekly when their frequency cannot work. Null when even that asks
 * more than `maxCounterRatio` times the weekly amount they offered (unrealistic), or nothing fits.
 */
export function counterProposal(plan: PaymentPlan, ctx: PlanPolicyContext, policy: PlanPolicy = DEFAULT_PLAN_POLICY): PaymentPlan | null {
  const owed = ctx.owedCents;
  const today = calendarDay(ctx.today, ctx.timeZone);
  if (!isCents(owed) || owed <= 0 || today === null || !plan || !PLAN_FREQUENCIES.includes(plan.frequency)) return null;
  const offered = plan.instalmentCents;
  if (!isCents(offered) || offered <= 0) return null;

  const todayIso = today.toISODate() as string;
  const latest = today.plus({ days: policy.maxDaysToFirstPayment }).toISODate() as string;
  let down = isCents(plan.downPaymentCents) && plan.downPaymentCents > 0 ? Math.min(plan.downPaymentCents, owed) : 0;
  // The down payment is due today, so instalments start tomorrow at the earliest; if the window has no
  // tomorrow, the down payment is folded into the instalments.
  if (down > 0 && todayIso >= latest) down = 0;
  const earliest = down > 0 ? (today.plus({ days: 1 }).toISODate() as string) : todayIso;
  const remaining = owed - down;
  const firstInstalment = Array.isArray(plan.schedule) ? plan.schedule[plan.downPaymentCents > 0 ? 1 : 0]?.dueOn : undefined;

  const candidates: PlanFrequency[] = plan.frequency === 'weekly' ? ['weekly'] : [plan.frequency, 'weekly'];
  for (const frequency of candidates) {
    const period = periodWeeks(frequency);
    const maxCount = Math.min(Math.floor((policy.maxWeeks * period.den) / period.num), MAX_INSTALMENTS);
    if (maxCount < 1 && remaining > 0) continue;
    const wanted =
      frequency === plan.frequency && typeof firstInstalment === 'string' && calendarDay(firstInstalment, ctx.timeZone)
        ? firstInstalment
        : defaultStart(frequency, todayIso, ctx.timeZone);
    const startOn = wanted < earliest ? earliest : wanted > latest ? latest : wanted;
    // Smallest whole-dollar instalment that meets the weekly minimum at this frequency.
    const floorCents = ceilToDollar(ceilDiv(policy.minWeeklyCents * period.num, period.den));
    const keepsOffer = frequency === plan.frequency && ceilDiv(remaining, offered) <= maxCount && offered * period.den >= policy.minWeeklyCents * period.num;
    const instalment = keepsOffer ? offered : Math.max(ceilToDollar(ceilDiv(remaining, Math.max(maxCount, 1))), floorCents);
    const candidate = schedulePlan({
      frequency,
      instalmentCents: remaining > 0 ? instalment : 0,
      maxCount,
      downPaymentCents: down,
      startOn,
      owedCents: owed,
      today: todayIso,
      timeZone: ctx.timeZone,
    });
    if (invalidReasons(candidate, { ...ctx, today: todayIso }, policy).length > 0) continue;
    return realistic(candidate, plan, policy) ? candidate : null;
  }
  return null;
}

/** Counter weekly ≤ ratio × offered weekly, exactly: a/b ≤ r·c/d ⇔ a·d ≤ r·c·b. */
function realistic(counter: PaymentPlan, offer: PaymentPlan, policy: PlanPolicy): boolean {
  if (counter.count === 0) return true;
  const c = periodWeeks(counter.frequency);
  const o = periodWeeks(offer.frequency);
  const counterWeekly = BigInt(counter.instalmentCents) * BigInt(c.den) * BigInt(o.num);
  const offeredWeekly = BigInt(Math.round(policy.maxCounterRatio * 1000)) * BigInt(offer.instalmentCents) * BigInt(o.den) * BigInt(c.num);
  return counterWeekly * 1000n <= offeredWeekly;
}
