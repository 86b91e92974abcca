import { cancel, raise } from 'xstate';
import { conversationSetup as s, PLAN_DEADLINE_TIMER, PLAN_REMINDER_TIMER } from '../conversation.setup.js';
import type { ConversationContext } from '../conversation.types.js';
import { payOff, recordPlanProgress } from './shared.js';

const planNotice = (kind: 'reminder' | 'missed') =>
  ({
    type: 'sendPlanNotice',
    params: ({ context }: { context: ConversationContext }) => ({
      kind,
      phone: context.phone,
      language: context.draft?.language ?? 'en',
      plan: context.plan!,
    }),
  }) as const;

/**
 * A plan runs: a living state, not an end. Timers watch the oldest unpaid instalment: a reminder before
 * it is due, a deadline after its grace period. A payment re-enters the state, so the timers move on to
 * the next instalment. The debtor may still write (the root's `sms.received`) and is answered with the plan
 * in mind; after our reply the conversation comes back here.
 */
export const planAgreed = s.createStateConfig({
  entry: [
    raise({ type: PLAN_REMINDER_TIMER }, { id: PLAN_REMINDER_TIMER, delay: 'planReminder' }),
    raise({ type: PLAN_DEADLINE_TIMER }, { id: PLAN_DEADLINE_TIMER, delay: 'planDeadline' }),
  ],
  exit: [cancel(PLAN_REMINDER_TIMER), cancel(PLAN_DEADLINE_TIMER)],
  on: {
    'payment.received': [
      ...payOff(),
      { target: 'planAgreed', reenter: true, actions: ['recordPayment', recordPlanProgress] },
    ],
    'timer.plan_reminder': { guard: 'isReminderDue', actions: [planNotice('reminder'), 'markReminded'] },
    'timer.plan_deadline': [
      {
        guard: 'hasMissedBefore',
        target: 'escalated',
        actions: ['markInstalmentMissed', 'breakPlan', recordPlanProgress, { type: 'escalateFor', params: { reason: 'missed_payments' } }],
      },
      {
        target: 'negotiating.missedPayment',
        actions: [
          'markInstalmentMissed',
          recordPlanProgress,
          { type: 'notifyStaff', params: { kind: 'instalment_missed', reason: 'grace period over' } },
          planNotice('missed'),
        ],
      },
    ],
  },
});
