import { isOptInKeyword, isOptOutRequest } from '../../machines/conversation/opt-out.js';
import type { Db } from '../db/database.js';
import { inboundAndLaterTexts } from '../db/messages.repository.js';
import { liftOptOut, optOutKey, recordOptOut } from '../db/opt-outs.repository.js';
import { OneAtATime } from '../runtime/one-at-a-time.js';
import { recordComplianceDecision } from '../adapters/send-gate.js';

/** An inbound text, applied already, whose words may be a consent keyword. */
export interface KeywordText {
  conversationId: string;
  /** The number (E.164), or how to read it: only a keyword needs it. */
  phone: string | (() => Promise<string>);
  text: string;
  /**
   * The text's idempotency key, when this request is a retry of a text already applied: its first answer
   * was lost, perhaps before its keywords were honoured (a STOP to an escalated or closed conversation is
   * recorded here only). It is honoured again, as stored, unless the debtor has said otherwise since: a START
   * retried after a newer STOP lifts nothing, and a STOP retried after a newer START records nothing.
   */
  retriedKey?: string;
}

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
export async function honourConsentKeywords(db: Db, inbound: KeywordText) {
  // Only a keyword costs a read (the number, then a retry's stored words): every other text returns here.
  if (!isOptInKeyword(inbound.text) && !isOptOutRequest(inbound.text)) return;
  const phone = typeof inbound.phone === 'string' ? inbound.phone : await inbound.phone();
  return keywordsInOrder.run(optOutKey(phone), () => honourInOrder(db, { ...inbound, phone }));
}

/**
 * One number's keywords at a time in this process, in the order they came. Recording or lifting an opt-out
 * takes the number's lock, which a hand-off to the number holds until the SMS Agent answers (at most its
 * timeout; docs/architecture.md §4). A STOP to another conversation of the number (another tenant's, say),
 * and each retry of it by the SMS Agent, would each wait for it on a pooled connection, and a few such
 * numbers would leave no connection for anyone's events. Now only the first waits on a connection, the rest
 * here; and a START and a STOP from one number are decided in the order they came. Process-wide, as the
 * number's lock is database-wide.
 */
const keywordsInOrder = new OneAtATime();

async function honourInOrder(db: Db, inbound: KeywordText & { phone: string }) {
  const stored = inbound.retriedKey === undefined ? null : await inboundAndLaterTexts(db, inbound.conversationId, inbound.retriedKey);
  if (stored === undefined) return; // a retry whose text is not on record (null: not a retry)
  const text = stored?.text ?? inbound.text;
  const optIn = isOptInKeyword(text);
  if (!optIn && !isOptOutRequest(text)) return;
  if (stored?.later.some(optIn ? isOptOutRequest : isOptInKeyword)) return; // the debtor has said otherwise since
  if (!optIn) return recordOptOut(db, inbound.phone, inbound.conversationId);
  if (!(await liftOptOut(db, inbound.conversationId, inbound.phone))) return;
  await recordComplianceDecision({ db }, { conversationId: inbound.conversationId, rule: 'opt_in', decision: 'recorded', detail: 'opted back in (explicit keyword)' });
}
