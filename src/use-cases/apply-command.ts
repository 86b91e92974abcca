import type { ConversationEvent } from '../../machines/conversation/conversation.types.js';
import type { ApplyResult } from '../runtime/apply-event.js';
import { actorOf, type Caller, type UseCaseDeps } from './caller.js';

/**
 * A caller's event for a conversation that exists: applied once per idempotency key, recorded as the
 * caller's. `reject` (the default) answers an event the conversation does not accept now with a 409;
 * `record` keeps it on record without a transition.
 */
export function applyCommand(
  deps: Pick<UseCaseDeps, 'runtime'>,
  caller: Caller,
  command: { conversationId: string; event: ConversationEvent; idempotencyKey: string; ifNotAccepted?: 'reject' | 'record' },
): Promise<ApplyResult> {
  return deps.runtime.apply({
    conversationId: command.conversationId,
    event: command.event,
    idempotencyKey: command.idempotencyKey,
    actor: actorOf(caller),
    ifNotAccepted: command.ifNotAccepted ?? 'reject',
  });
}
