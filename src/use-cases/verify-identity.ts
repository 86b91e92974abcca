import type { ApplyResult } from '../runtime/apply-event.js';
import { applyCommand } from './apply-command.js';
import type { Caller, UseCaseDeps } from './caller.js';

/**
 * A manager's verdict on whose number texts us (docs/compliance.md, "Identity and third parties"):
 * `verified`, the number is the debtor's (account details may go to it, and the messages the identity
 * question held are answered now); `rejected`, it is not (one text, the conversation closes).
 */
export function verifyIdentity(
  deps: Pick<UseCaseDeps, 'runtime'>,
  caller: Caller,
  verdict: { conversationId: string; verified: boolean; idempotencyKey: string },
): Promise<ApplyResult> {
  const event = { type: verdict.verified ? 'identity.verified' : 'identity.rejected', by: caller.subject } as const;
  return applyCommand(deps, caller, { conversationId: verdict.conversationId, event, idempotencyKey: verdict.idempotencyKey });
}
