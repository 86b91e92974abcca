import type { ActionParams } from '../../machines/conversation/conversation.machine.js';
import { closeApproval, queueForApproval } from '../db/drafts.repository.js';
import { closeOpenEscalations, openEscalation, updateOpenEscalation } from '../db/escalations.repository.js';
import { recordOptOut } from '../db/opt-outs.repository.js';
import { recordPlanProgress, storeAgreedPlan } from '../db/payment-plans.repository.js';
import { EFFECT, staffNotice, type ActionRouting, type StaffNotice } from './apply-event.js';

/**
 * Where each named action of the machine goes. Writes to our own tables run inside the event's
 * transaction (they commit with the transition or not at all); anything that leaves the database is
 * an `effect` job (src/adapters/activities.ts, createEffects), run after commit with an idempotency key;
 * a staff notice runs after the drafts (src/runtime/job-queue.ts, JOB_PRIORITY).
 * The table is checked against the machine's action names by the type checker.
 */
export const actionRouting = {
  openApproval: (trx, params) => queueForApproval(trx, params.approvalId),
  closeApproval: (trx, params) => closeApproval(trx, params),
  openEscalation: (trx, params, context) => openEscalation(trx, context.conversationId, params),
  updateEscalation: (trx, params, context) => updateOpenEscalation(trx, context.conversationId, params),
  closeEscalation: (trx, params, context) => closeOpenEscalations(trx, context.conversationId, params.resolution),
  recordOptOut: (trx, params, context) => recordOptOut(trx, params.phone, context.conversationId),
  recordPlan: (trx, params, context) => storeAgreedPlan(trx, context.conversationId, params.plan),
  recordPlanProgress: async (trx, params) => {
    if (params.plan) await recordPlanProgress(trx, params.plan);
  },
  notifyManagers: EFFECT,
  // After drafts; texts to an escalated conversation while its "the debtor wrote" waits are told once.
  notifyStaff: staffNotice((params) => (params.kind === 'inbound_while_escalated' ? params.kind : null)),
  sendOptOutConfirmation: EFFECT,
  sendPlanNotice: EFFECT,
  acknowledge: EFFECT,
} as const satisfies ActionRouting;

/** The named actions that run as effect jobs: what src/adapters/activities.ts must implement. */
export type EffectAction = {
  [K in keyof typeof actionRouting]: (typeof actionRouting)[K] extends typeof EFFECT | StaffNotice<never> ? K : never;
}[keyof typeof actionRouting];
export type EffectParams<K extends EffectAction> = ActionParams[K];
