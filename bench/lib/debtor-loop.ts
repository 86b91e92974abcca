/**
 * Debtors in conversation, for the processes benchmark: each of D debtors texts, waits until the SMS Agent
 * simulator has received the reply, and texts again at once (a closed loop), until the time is up. It runs
 * inside the outside-world child (bench/lib/outside-world.ts), next to the simulators, so a reply is seen the
 * moment it arrives, without polling anything over HTTP.
 *
 * A POST that fails (network error: its API process may have just been killed; 5xx) is sent again with the
 * same Idempotency-Key to the next API process, as the SMS Agent would. A debtor whose text is never
 * acknowledged, or whose reply does not come within `replyTimeoutMs`, stops: texting again would merge two
 * turns into one reply and hide what went wrong.
 */
import { quickStartNumber } from '../../src/simulators/collections-monitor.simulator.js';
import type { RunningSimulators } from '../../src/simulators/index.js';
import { postInboundText } from './post-text.js';

export interface ConverseOrder {
  /** Base URLs of the API processes; debtor i starts at urls[i % urls.length]. */
  urls: string[];
  token: string;
  /** One per debtor: its tenant and the number on that tenant's record it texts from. */
  debtors: BenchDebtor[];
  /** Text k of debtor i has the key `${keyPrefix}-${i}-${k}`. */
  keyPrefix: string;
  text: string;
  /** No new text is sent after this long. */
  seconds: number;
  replyTimeoutMs: number;
  /** How long a debtor keeps re-sending one text that is refused or unanswered before it gives up. */
  postGiveUpMs: number;
}

export interface BenchDebtor {
  tenant: string;
  phone: string;
}

/**
 * Debtor `index` (0–9999) of a run: a tenant of its own that texts from the number on its record (the simulated
 * monitor puts +1555123NNNN on the record of an id ending in NNNN). A number not on record would get the
 * identity check and, after its second text, a person (docs/compliance.md): not a debtor's usual turn.
 */
export function debtorOnRecord(tenantPrefix: string, index: number): BenchDebtor {
  if (!Number.isInteger(index) || index < 0 || index > 9_999) throw new Error(`bench debtor index ${index} is outside 0-9999`);
  const tenant = `${tenantPrefix}-${String(index).padStart(4, '0')}`;
  return { tenant, phone: quickStartNumber(tenant)[0]! };
}

export interface TurnSeen {
  phone: string;
  key: string;
  /** Date.now() of the first try. */
  postedAt: number;
  /** When a 2xx came back (null: never acknowledged). */
  ackedAt: number | null;
  /** When the reply arrived at the SMS Agent (null: none within replyTimeoutMs, or not acknowledged). */
  repliedAt: number | null;
  /** Last status: an HTTP status, or 'network error'. */
  status: string;
  attempts: number;
}

export interface ConverseSeen {
  turns: TurnSeen[];
  /** Every POST answer by status, retries included. */
  statuses: Record<string, number>;
  /** CPU of the outside-world process (debtors, simulators, model stub) during the loop, ms. */
  cpuMs: number;
}

export interface SendSeen {
  to: string;
  idempotencyKey: string | null;
  receivedAtMs: number;
}

const RETRY_AFTER_MS = 500;

/** Runs the loop (the outside world clears the simulators and the stub first, as for a burst). */
export async function converse(order: ConverseOrder, simulators: RunningSimulators): Promise<ConverseSeen> {
  const replies = watchReplies(simulators);
  const statuses: Record<string, number> = {};
  const turns: TurnSeen[] = [];
  const stopAt = Date.now() + order.seconds * 1000;
  const cpu = process.cpuUsage();

  const post = async (debtor: number, turn: TurnSeen, body: string) => {
    const giveUpAt = turn.postedAt + order.postGiveUpMs;
    for (let attempt = 0; ; attempt += 1) {
      const url = order.urls[(debtor + attempt) % order.urls.length]!;
      turn.attempts = attempt + 1;
      turn.status = await postInboundText(url, order.token, turn.key, body);
      statuses[turn.status] = (statuses[turn.status] ?? 0) + 1;
      if (turn.status.startsWith('2')) return true;
      const retryable = turn.status === 'network error' || turn.status.startsWith('5');
      if (!retryable || Date.now() + RETRY_AFTER_MS > giveUpAt) return false;
      await sleep(RETRY_AFTER_MS);
    }
  };

  await Promise.all(
    order.debtors.map(async ({ tenant, phone }, debtor) => {
      for (let k = 0; Date.now() < stopAt; k += 1) {
        const turn: TurnSeen = { phone, key: `${order.keyPrefix}-${debtor}-${k}`, postedAt: Date.now(), ackedAt: null, repliedAt: null, status: '', attempts: 0 };
        turns.push(turn);
        const before = replies.count(phone);
        const acknowledged = await post(debtor, turn, JSON.stringify({ tenant_id: tenant, phone_number: phone, content: order.text }));
        if (!acknowledged) return;
        turn.ackedAt = Date.now();
        turn.repliedAt = await replies.next(phone, before, order.replyTimeoutMs);
        if (turn.repliedAt === null) return;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  replies.stop();
  return { turns, statuses, cpuMs: (used.user + used.system) / 1000 };
}

export function sendsTo(simulators: RunningSimulators, phones: string[] | null): SendSeen[] {
  const wanted = phones ? new Set(phones) : null;
  return simulators.sms.sent
    .filter((sent) => !wanted || wanted.has(sent.to))
    .map((sent) => ({ to: sent.to, idempotencyKey: sent.idempotencyKey ?? null, receivedAtMs: sent.receivedAtMs }));
}

/**
 * Counts the SMS Agent's sends per number as they arrive (one scan of the new entries every 5 ms, not one
 * per waiting debtor) and wakes the debtors waiting for one.
 */
function watchReplies(simulators: RunningSimulators) {
  const counts = new Map<string, number>();
  const arrivals = new Map<string, number[]>();
  const waiting = new Map<string, { after: number; resolve: (at: number | null) => void; timer: NodeJS.Timeout }>();
  let scanned = 0;
  const scan = () => {
    const sent = simulators.sms.sent;
    for (; scanned < sent.length; scanned += 1) {
      const { to, receivedAtMs } = sent[scanned]!;
      counts.set(to, (counts.get(to) ?? 0) + 1);
      (arrivals.get(to) ?? arrivals.set(to, []).get(to)!).push(receivedAtMs);
      const waiter = waiting.get(to);
      if (waiter && counts.get(to)! > waiter.after) {
        waiting.delete(to);
        clearTimeout(waiter.timer);
        waiter.resolve(arrivals.get(to)![waiter.after]!);
      }
    }
  };
  const ticker = setInterval(scan, 5);
  return {
    count: (phone: string) => (scan(), counts.get(phone) ?? 0),
    /** When the send after the first `after` ones to this number arrived, or null after `timeoutMs`. */
    next(phone: string, after: number, timeoutMs: number) {
      scan();
      const seen = arrivals.get(phone);
      if (seen && seen.length > after) return Promise.resolve(seen[after]!);
      return new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(phone);
          resolve(null);
        }, timeoutMs);
        waiting.set(phone, { after, resolve, timer });
      });
    },
    stop: () => clearInterval(ticker),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
