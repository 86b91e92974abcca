import { sql } from 'kysely';
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
    closeEscalation: async (trx, params: ActionParams['closeEscalation'], context) => {
      await trx
        .updateTable('escalations')
        .set({ closed_at: sql`now()`, resolution: params.resolution })
        .where('conversation_id', '=', context.conversationId)
        .where('closed_at', 'is', null)
        .execute();
    },
    recordOptOut: async (trx, params: ActionParams['recordOptOut'], context) => {
      await trx
        .insertInto('opt_outs')
        .values({ phone: params.phone, conversation_id: context.conversationId })
        .onConflict((oc) => oc.column('phone').doNothing())
        .execute();
    },
  },
  effects: new Set(['notifyManagers', 'notifyStaff', 'sendOptOutConfirmation']),
};
