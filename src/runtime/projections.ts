import type { ActionParams } from '../../machines/conversation/conversation.machine.js';
import { closeApproval, queueForApproval } from '../db/drafts.repository.js';
import type { ActionRouting } from './apply-event.js';

/**
 * Where each named action of the machine goes. Writes to our own tables run inside the event's
 * transaction (they commit with the transition or not at all); anything that leaves the database is
 * an `effect` job (src/runtime/effects.ts), run after commit with an idempotency key.
 */
export const actionRouting: ActionRouting = {
  projections: {
    openApproval: (trx, params: ActionParams['openApproval']) => queueForApproval(trx, params.approvalId),
    closeApproval: (trx, params: ActionParams['closeApproval']) => closeApproval(trx, params),
    openEscalation: async (trx, params: ActionParams['openEscalation'], context) => {
      await trx
        .insertInto('escalations')
        .values({ conversation_id: context.conversationId, reason: params.reason, note: params.note })
        .execute();
    },
  },
  effects: new Set(['notifyManagers', 'notifyStaff', 'sendOptOutConfirmation']),
};
