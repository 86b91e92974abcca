import { cancel, raise } from 'xstate';
import { conversationSetup as s, PLAN_DEADLINE_TIMER } from '../conversation.setup.js';
import { noReplyTimer, payOff, recordPlanProgress } from './shared.js';

/**
 * Terms are open. Whatever the debtor writes is drafted against what is open here (the root's
 * `sms.received`): a yes agrees the offered plan, a change is a new offer, a no is answered.
 */
export const negotiating = s.createStateConfig({
  initial: 'awaitingConfirmation',
  states: {
    /** Our last text restated a plan (theirs, or our counter-proposal) and asked them to confirm it. */
    awaitingConfirmation: {
      ...noReplyTimer,
      on: {
        'timer.no_reply': [
          // Silence on a change to a running plan: the offer lapses, the plan runs on.
          { guard: 'hasActivePlan', target: '#conversation.planAgreed', actions: 'withdrawOffer' },
          { target: '#conversation.escalated', actions: { type: 'escalateFor', params: { reason: 'no_response' } } },
        ],
      },
    },
    /**
     * An instalment passed its grace period unpaid: staff were told, the debtor was asked to catch up or
     * propose new terms. Catching up resumes the plan; the next deadline passing unpaid is a second miss.
     */
    missedPayment: {
      entry: raise({ type: PLAN_DEADLINE_TIMER }, { id: PLAN_DEADLINE_TIMER, delay: 'planDeadline' }),
      exit: cancel(PLAN_DEADLINE_TIMER),
      on: {
        'timer.plan_deadline': {
          target: '#conversation.escalated',
          actions: ['markInstalmentMissed', 'breakPlan', recordPlanProgress, { type: 'escalateFor', params: { reason: 'missed_payments' } }],
        },
        'payment.received': [
          ...payOff(),
          { guard: 'catchesUp', target: '#conversation.planAgreed', actions: ['recordPayment', recordPlanProgress] },
          { actions: ['recordPayment', recordPlanProgress] },
        ],
      },
    },
  },
});
