import type { ActionParams } from '../../machines/conversation/conversation.machine.js';
import { closeApproval, queueForApproval } from '../db/drafts.repository.js';
import { closeOpenEscalations, openEscalation } from '../db/escalations.repository.js';
import { recordOptOut } from '../db/opt-outs.repository.js';
import type { ActionRouting } from './apply-event.js';

/**
 * Where each named action of the machine goes. Writes to our own tables run inside the event's
 * transaction (they commit with the transition or not at all); anything that leaves the database is
 * an `effect` job (src/effects/activities.ts, createEffects), run after commit with an idempotency key.
 */
export const actionRouting: ActionRouting = {
  projections: {
    openApproval: (trx, params: ActionParams['openApproval']) => queueForApproval(trx, params.approvalId),
    closeApproval: (trx, params: ActionParams['closeApproval']) => closeApproval(trx, params),
    openEscalation: (trx, params: ActionParams['openEscalation'], context) =>
      openEscalation(trx, context.conversationId, params.reason, params.note),
    closeEscalation: (trx, params: ActionParams['closeEscalation'], context) =>
      closeOpenEscalations(trx, context.conversationId, params.resolution),
    recordOptOut: (trx, params: ActionParams['recordOptOut'], context) => recordOptOut(trx, params.phone, context.conversationId),
  },
  effects: new Set(['notifyManagers', 'notifyStaff', 'sendOptOutConfirmation']),
};
