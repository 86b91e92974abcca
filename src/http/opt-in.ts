import { isOptInKeyword } from '../../machines/conversation/opt-out.js';
import type { Db } from '../db/database.js';
import { liftOptOut } from '../db/opt-outs.repository.js';
import { recordComplianceDecision } from '../effects/send-gate.js';

/**
 * An inbound START or UNSTOP from an opted-out number lifts the debtor's opt-out in the conversation's tenant
 * (TCPA: consent may be given again the way it was revoked), never a manager's suppression nor another
 * tenant's opt-out, and is recorded. The conversation that opted out stays ended (optedOut is final);
 * what changes is that the number may be texted again by that tenant's conversations that have it. Called after the
 * inbound message itself was applied, so the words are on record first; doing it twice is harmless.
 */
export async function honourOptIn(db: Db, inbound: { conversationId: string; phone: string | (() => Promise<string>); text: string }) {
  if (!isOptInKeyword(inbound.text)) return;
  // The number is looked up only for a keyword: every other inbound text costs no read here.
  const phone = typeof inbound.phone === 'string' ? inbound.phone : await inbound.phone();
  if (!(await liftOptOut(db, inbound.conversationId, phone))) return;
  await recordComplianceDecision({ db }, { conversationId: inbound.conversationId, rule: 'opt_in', decision: 'recorded', detail: 'opted back in (explicit keyword)' });
}
