import { isOptInKeyword, isOptOutRequest } from '../../machines/conversation/opt-out.js';
import type { Db } from '../db/database.js';
import { inboundAndLaterTexts } from '../db/messages.repository.js';
import { liftOptOut, recordOptOut } from '../db/opt-outs.repository.js';
import { recordComplianceDecision } from '../adapters/send-gate.js';

/**
 * What an inbound text says about consent, honoured before we answer 202. Called after the inbound message
 * itself was applied, so the words are on record first; doing it twice is harmless (a retry: `retriedKey`).
 * - A STOP (the machine's own test, `isOptOutRequest`) is recorded as the debtor's opt-out in the
 *   conversation's tenant at once, not only when the conversation's drafter has read it: from our 202 on, no
 *   conversation of that tenant hands a text to the number (recording waits for a hand-off in progress;
 *   docs/architecture.md §4). The machine records the same opt-out again when it reaches `optedOut`.
 * - A START or UNSTOP from an opted-out number lifts the debtor's opt-out in the conversation's tenant (TCPA:
 *   consent may be given again the way it was revoked), never a manager's suppression nor another tenant's
 *   opt-out, and is recorded. The conversation that opted out stays ended (optedOut is final); what changes
 *   is that the number may be texted again by that tenant's conversations that have it.
 */
export async function honourConsentKeywords(
  db: Db,
  inbound: {
    conversationId: string;
    phone: string | (() => Promise<string>);
    text: string;
    /**
     * The text's idempotency key, when this request is a retry of a text already applied: its first answer
     * was lost, perhaps before its keywords were honoured (a STOP to an escalated or closed conversation is
     * recorded here only). It is honoured again, as stored, unless the debtor has said otherwise since: a START
     * retried after a newer STOP lifts nothing, and a STOP retried after a newer START records nothing.
     */
    retriedKey?: string;
  },
) {
  // Only a keyword costs a read (a retry's stored words, then the number): every other text returns here.
  if (!isOptInKeyword(inbound.text) && !isOptOutRequest(inbound.text)) return;
  const stored = inbound.retriedKey === undefined ? null : await inboundAndLaterTexts(db, inbound.conversationId, inbound.retriedKey);
  if (stored === undefined) return; // a retry whose text is not on record (null: not a retry)
  const text = stored?.text ?? inbound.text;
  const optIn = isOptInKeyword(text);
  if (!optIn && !isOptOutRequest(text)) return;
  if (stored?.later.some(optIn ? isOptOutRequest : isOptInKeyword)) return; // the debtor has said otherwise since
  const phone = typeof inbound.phone === 'string' ? inbound.phone : await inbound.phone();
  if (!optIn) return recordOptOut(db, phone, inbound.conversationId);
  if (!(await liftOptOut(db, inbound.conversationId, phone))) return;
  await recordComplianceDecision({ db }, { conversationId: inbound.conversationId, rule: 'opt_in', decision: 'recorded', detail: 'opted back in (explicit keyword)' });
}
