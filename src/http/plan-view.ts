import type { AgreedPlan } from '../../machines/conversation/conversation.types.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';

/** A plan as the API shows it: snake_case, integer cents, calendar dates; instalment status once agreed. */
export function planView(plan: PaymentPlan | AgreedPlan) {
  const agreed = 'status' in plan ? plan : null;
  return {
    ...(agreed ? { id: agreed.id, status: agreed.status, paid_cents: agreed.paidCents, missed: agreed.missed } : {}),
    frequency: plan.frequency,
    instalment_cents: plan.instalmentCents,
    count: plan.count,
    down_payment_cents: plan.downPaymentCents,
    total_cents: plan.totalCents,
    schedule: plan.schedule.map((instalment) => ({
      due_on: instalment.dueOn,
      amount_cents: instalment.amountCents,
      ...('status' in instalment ? { paid_cents: instalment.paidCents, status: instalment.status } : {}),
    })),
  };
}
