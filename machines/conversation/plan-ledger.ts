import type { AgreedPlan, ScheduledPlan } from './conversation.types.js';

/**
 * The running account of an agreed plan: pure functions the machine's actions call. Integer cents only.
 * A payment pays the oldest unpaid instalment first, missed ones included, so catching up is possible.
 */

/**
 * The plan as agreed, credited with what the debtor paid since it was offered (`paidSinceOffer`): that money
 * keeps its first instalments, so it is counted once, here, and never asked for again. A plan that money
 * already covers is completed as it is agreed.
 */
export function agreePlan(plan: ScheduledPlan, id: string, paidSinceOffer = 0): AgreedPlan {
  const agreed = applyPayment(
    {
      ...plan,
      id,
      status: 'active',
      schedule: plan.schedule.map((instalment) => ({ ...instalment, paidCents: 0, status: 'due' as const })),
      paidCents: 0,
      missed: 0,
      remindedThrough: -1,
    },
    paidSinceOffer,
  );
  return remainingCents(agreed) === 0 ? { ...agreed, status: 'completed' } : agreed;
}

export function remainingCents(plan: AgreedPlan): number {
  return Math.max(0, plan.totalCents - plan.paidCents);
}

export function applyPayment(plan: AgreedPlan, amountCents: number): AgreedPlan {
  let left = amountCents;
  const schedule = plan.schedule.map((instalment) => {
    if (left <= 0 || instalment.status === 'kept') return instalment;
    const paid = Math.min(left, instalment.amountCents - instalment.paidCents);
    left -= paid;
    const paidCents = instalment.paidCents + paid;
    return { ...instalment, paidCents, status: paidCents >= instalment.amountCents ? ('kept' as const) : instalment.status };
  });
  // `missed` counts misses over the plan's life: catching up does not undo one.
  return { ...plan, schedule, paidCents: plan.paidCents + amountCents };
}

/** The first instalment that is neither kept nor already missed: the one the timers watch. */
export function nextDueIndex(plan: AgreedPlan): number {
  return plan.schedule.findIndex((instalment) => instalment.status === 'due');
}

export function isInArrears(plan: AgreedPlan): boolean {
  return plan.schedule.some((instalment) => instalment.status === 'missed');
}

/** The watched instalment's deadline passed unpaid. */
export function markMissed(plan: AgreedPlan): AgreedPlan {
  const index = nextDueIndex(plan);
  // In arrears with nothing left due, the final deadline passed: the missed instalment is missed again.
  if (index < 0) return { ...plan, missed: plan.missed + 1 };
  const schedule = plan.schedule.map((instalment, i) => (i === index ? { ...instalment, status: 'missed' as const } : instalment));
  return { ...plan, schedule, missed: plan.missed + 1 };
}

export function markReminded(plan: AgreedPlan): AgreedPlan {
  return { ...plan, remindedThrough: Math.max(plan.remindedThrough, nextDueIndex(plan)) };
}

/** When the reminder of the watched instalment is due, if one is still to go out. */
export function reminderAt(plan: AgreedPlan): string | null {
  const index = nextDueIndex(plan);
  return index >= 0 && index > plan.remindedThrough ? plan.schedule[index].remindAt : null;
}

/** When the watched instalment counts as missed; in arrears with nothing left due, the plan's final deadline. */
export function deadlineAt(plan: AgreedPlan): string {
  const index = nextDueIndex(plan);
  return index >= 0 ? plan.schedule[index].deadlineAt : plan.finalDeadlineAt;
}
