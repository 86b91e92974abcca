import { sql } from 'kysely';
import type { Db, DbOrTrx } from '../db/database.js';
import type { OutboundKind } from '../db/schema.js';
import { holdNumberThenOptedOut } from '../db/opt-outs.repository.js';
import { claimedAgentIds, claimOutbound, countAttempt, markAccepted, readOutbound } from '../db/outbound-messages.repository.js';
import { tenantTextedNumberSql } from '../db/messages.repository.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LiveFence } from '../runtime/worker.js';
import type { SmsAgent } from './ports.js';

/** How far back an SMS Agent timestamp may lie before our first attempt and still be that attempt (clock skew). */
export const RECONCILE_SKEW_MS = 60_000;

/**
 * Hands a text to the SMS Agent at most once per key, across crashes and retries.
 *
 * A row is committed *before* the request leaves. If a later attempt finds that row still `sending`,
 * the earlier attempt's outcome is unknown (crash or timeout after the request left): we look in the
 * SMS Agent's history first and only send again when the text is not there. The `Idempotency-Key`
 * header is sent anyway, for agents that honour it.
 */
export async function deliverSms(
  deps: { db: Db; smsAgent: SmsAgent; logger: Logger },
  message: { key: string; conversationId: string; phone: string; text: string; kind?: OutboundKind },
  options: {
    signal?: AbortSignal;
    /** The invoke's fence (ActivityContext.whileLive): a send a STOP stopped is not handed off. */
    fence?: LiveFence;
    /** The send-time gate claimed the key with its read (true), or found it claimed before (false); unset: claim here. */
    claimed?: boolean;
  } = {},
): Promise<{ smsId: string }> {
  const { db, smsAgent, logger } = deps;
  const { signal, fence } = options;
  // The common case, a first attempt, claims the key in one round trip (or the gate's read did); only a key already there is read.
  const claimed = options.claimed ?? (await claimOutbound(db, { ...message, kind: message.kind ?? 'reply' }));
  if (!claimed) {
    const earlier = await readOutbound(db, message.key);
    if (earlier.status === 'accepted') return { smsId: earlier.sms_agent_id! };
    const found = await reconcile(db, smsAgent, message, earlier.first_attempt_at, signal);
    if (found) {
      logger.warn({ conversationId: message.conversationId, key: message.key }, 'earlier send found at the SMS Agent; not sent again');
      return { smsId: found };
    }
    await countAttempt(db, message.key);
  }

  const send = () => smsAgent.send({ to: message.phone, body: message.text, conversationId: message.conversationId }, message.key, signal);
  const handOff = async (conn: DbOrTrx) => {
    const { id } = await send();
    await markAccepted(conn, message.key, id);
    return { smsId: id };
  };
  // The last check and the request are one step with respect to a STOP: the number is held (a new opt-out of it
  // waits, or is seen) and, for an invoke, so is the conversation (a STOP of its own waits, or has already
  // stopped the send). Only the opt-out confirmation goes to a number that opted out.
  if (message.kind === 'confirmation') return handOff(db);
  if (!fence) {
    return db.transaction().execute(async (trx) => {
      if (await holdNumberThenOptedOut(trx, { conversationId: message.conversationId }, message.phone)) throw optedOutError();
      return handOff(trx);
    });
  }
  // The fence holds the number, and checks it, in the statement that holds the conversation; the acceptance is
  // committed with the fence's transaction, which hand-offs of the same moment share (docs/architecture.md §4).
  const outcome = await fence(
    async (held) => {
      if (held.optedOut) throw optedOutError();
      return send();
    },
    { optOutOf: message.phone, accepted: ({ id }) => ({ key: message.key, smsAgentId: id }) },
  );
  if (!outcome.live) throw new AppError('send_stopped', 'the conversation moved on before the hand-off; nothing was sent', 409, false);
  return { smsId: outcome.value.id };
}

export const optedOutError = () => new AppError('opted_out', 'the number opted out; nothing is sent to it', 409, false);

/**
 * An earlier try whose outcome is unknown: is its text in the agent's history? A candidate is an outbound text
 * with the same words, no older than the first try (minus clock skew), sent for this conversation when the
 * history says which (`conversation_id`, which we send with every text), and claimed by none of our rows in
 * any conversation or tenant (identical template texts are common). The claim itself is guarded by the unique
 * index on `sms_agent_id`: of two retries reaching for one text, one gets it and the other sends its own.
 */
async function reconcile(db: Db, smsAgent: SmsAgent, message: { key: string; conversationId: string; phone: string; text: string }, firstAttemptAt: Date, signal?: AbortSignal) {
  const since = firstAttemptAt.getTime() - RECONCILE_SKEW_MS;
  const history = await smsAgent.history(message.phone, signal);
  const candidates = history.filter(
    (sms) =>
      sms.direction === 'outbound' &&
      sms.content === message.text &&
      Date.parse(sms.createdAt) >= since &&
      (sms.conversationId == null || sms.conversationId === message.conversationId),
  );
  if (candidates.length === 0) return null;
  const claimed = await claimedAgentIds(db, candidates.map((sms) => sms.id));
  const found = candidates.find((sms) => !claimed.has(sms.id));
  if (!found) return null;
  try {
    await markAccepted(db, message.key, found.id);
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return null; // another row claimed it meanwhile
    throw error;
  }
  return found.id;
}

const UNIQUE_VIOLATION = '23505';

/**
 * Has this tenant had a text of ours reach this number (any of its conversations)? The first-text notice is
 * decided per (tenant, number) from our own records: the SMS Agent's history of a number mixes every tenant's
 * texts and cannot tell them apart. Only texts the agent accepted count, and not an opt-out confirmation
 * (it carries no notice): in doubt the full notice goes again, which is never wrong.
 */
export async function tenantTextedNumber(db: DbOrTrx, tenantId: string, phone: string): Promise<boolean> {
  const { rows } = await sql<{ texted: boolean }>`select ${tenantTextedNumberSql(tenantId, phone)} as texted`.execute(db);
  return rows[0]!.texted;
}
