import { DateTime } from 'luxon';
import type { ScheduledPlan } from '../../machines/conversation/conversation.types.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';

/**
 * When an agreed plan's timers fire, as instants, computed here (at the edge, with the time zone) so the
 * machine only compares instants with its clock. Due dates are calendar days in the debtor's zone:
 * - the reminder goes out `reminderDaysBefore` days before the due day, at `reminderHour` local time
 *   (none when that moment has already passed at agreement);
 * - an instalment is missed when the due day has ended and `graceMs` more have passed unpaid;
 * - in arrears with nothing more due, the final deadline is the last deadline plus the grace period again.
 */
export interface PlanTimerPolicy {
  reminderDaysBefore: number;
  /** Local hour (0–23) at which reminders go out; inside the allowed calling hours. */
  reminderHour: number;
  graceMs: number;
}

export const DEFAULT_PLAN_TIMERS: PlanTimerPolicy = Object.freeze({ reminderDaysBefore: 2, reminderHour: 10, graceMs: 3 * 86_400_000 });

export function schedulePlanTimers(plan: PaymentPlan, options: { timeZone: string; now: Date; policy?: PlanTimerPolicy }): ScheduledPlan {
  const policy = options.policy ?? DEFAULT_PLAN_TIMERS;
  const zone = options.timeZone;
  const schedule = plan.schedule.map((instalment) => {
    const day = DateTime.fromISO(instalment.dueOn, { zone });
    const remind = day.minus({ days: policy.reminderDaysBefore }).set({ hour: policy.reminderHour });
    const deadline = day.plus({ days: 1 }).startOf('day').plus({ milliseconds: policy.graceMs });
    return {
      ...instalment,
      remindAt: remind.toMillis() > options.now.getTime() ? iso(remind) : null,
      deadlineAt: iso(deadline),
    };
  });
  const last = schedule.at(-1)!;
  return {
    ...plan,
    timeZone: zone,
    schedule,
    finalDeadlineAt: iso(DateTime.fromISO(last.deadlineAt).plus({ milliseconds: policy.graceMs })),
  };
}

function iso(moment: DateTime): string {
  return moment.toUTC().toISO()!;
}
