/**
 * One burst of turns against a running orchestrator: N distinct debtors text at once; each turn is timed
 * from its POST to the SMS Agent simulator receiving the reply. Then exactly-once is checked in the database
 * and in the simulator.
 */
import { sql } from 'kysely';
import type { Orchestrator } from '../../src/composition.js';
import { percentiles, type Percentiles } from './stats.js';

export const TURN_TEXT = 'Hi, what is my balance?';
/** Tries of one inbound POST (the first and its retries with the same key). */
export const POST_ATTEMPTS = 5;

export interface TurnResult {
  n: number;
  /** Turns whose reply arrived before the deadline. */
  completed: number;
  /** POST → reply at the SMS Agent, ms. */
  turnMs: Percentiles;
  /** POST → 202 (retries included), ms. */
  postMs: Percentiles;
  /** Every POST answer by status, retries included. */
  statuses: Record<string, number>;
  /** POSTs sent again after a refusal (same key). */
  retried: number;
  /** First POST → last reply, s. */
  wallSeconds: number;
  turnsPerSecond: number;
  /** Debtors whose POST was still refused after every try. */
  non202: number;
  exactlyOnce: ExactlyOnce;
}

export interface ExactlyOnce {
  ok: boolean;
  /** Debtors with exactly one reply / with none / with more than one. */
  oneReply: number;
  noReply: number;
  extraReplies: number;
  /** Inbox rows of the burst's idempotency keys (one per POST) and their outcomes. */
  inboxRows: number;
  inboxApplied: number;
  /** Inbound messages recorded for the burst (one per POST). */
  inboundMessages: number;
  /** Conversations of the burst by state (all should be awaitingReply). */
  states: Record<string, number>;
}

export async function runTurnBurst(options: {
  orchestrator: Orchestrator;
  token: string;
  n: number;
  runId: string;
  /** 0–9, distinct per burst in one process: the simulator's record of sends is shared. */
  phoneBlock: number;
  timeoutMs: number;
  /** How long to keep watching after the last reply, for duplicates. */
  settleMs: number;
}): Promise<TurnResult> {
  const { orchestrator, n, runId } = options;
  const sms = orchestrator.simulators!.sms;
  const tenant = `tenant-bench-${runId}`;
  // +1 555 B nnn nnn: fictional numbers, one per debtor, a block (0–9) per burst so bursts never share one.
  const phones = Array.from({ length: n }, (_, i) => `+1555${options.phoneBlock}${String(i).padStart(6, '0')}`);
  const keys = phones.map((_, i) => `turn-${runId}-${i}`);
  const started = new Map<string, number>();
  const postMs: number[] = [];
  let non202 = 0;
  const firstPost = Date.now();
  const statuses: Record<string, number> = {};
  let retried = 0;
  await Promise.all(
    phones.map(async (phone, i) => {
      const t0 = Date.now();
      started.set(phone, t0);
      // As the SMS Agent would: a refused POST (503 when the database pool is saturated, 5xx, a network
      // error) is sent again after a second with the same Idempotency-Key, up to POST_ATTEMPTS times.
      for (let attempt = 1; attempt <= POST_ATTEMPTS; attempt += 1) {
        let status = 'network error';
        try {
          const response = await fetch(`${orchestrator.url}/orchestrate/sms-received`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}`, 'idempotency-key': keys[i] },
            body: JSON.stringify({ tenant_id: tenant, phone_number: phone, content: TURN_TEXT }),
          });
          await response.arrayBuffer();
          status = String(response.status);
        } catch {
          // counted under 'network error'
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === '202') break;
        if (attempt === POST_ATTEMPTS || !(status === 'network error' || status.startsWith('5'))) {
          non202 += 1;
          break;
        }
        retried += 1;
        await sleep(1_000);
      }
      postMs.push(Date.now() - t0);
    }),
  );

  const wanted = new Set(phones);
  const ours = () => sms.sent.filter((send) => wanted.has(send.to));
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline && new Set(ours().map((send) => send.to)).size < n) await sleep(20);
  await sleep(options.settleMs);

  const firstArrival = new Map<string, number>();
  const count = new Map<string, number>();
  for (const send of ours()) {
    count.set(send.to, (count.get(send.to) ?? 0) + 1);
    if (!firstArrival.has(send.to)) firstArrival.set(send.to, send.receivedAtMs);
  }
  const turns = [...firstArrival].map(([phone, at]) => at - started.get(phone)!);
  const lastArrival = Math.max(...firstArrival.values());
  const wallSeconds = (lastArrival - firstPost) / 1000;
  return {
    n,
    completed: firstArrival.size,
    turnMs: percentiles(turns),
    postMs: percentiles(postMs),
    wallSeconds,
    turnsPerSecond: firstArrival.size / wallSeconds,
    non202,
    statuses,
    retried,
    exactlyOnce: await checkExactlyOnce(orchestrator, { tenant, phones, keys, count }),
  };
}

async function checkExactlyOnce(
  orchestrator: Orchestrator,
  burst: { tenant: string; phones: string[]; keys: string[]; count: Map<string, number> },
): Promise<ExactlyOnce> {
  const n = burst.phones.length;
  const oneReply = burst.phones.filter((phone) => burst.count.get(phone) === 1).length;
  const noReply = burst.phones.filter((phone) => !burst.count.has(phone)).length;
  const extraReplies = burst.phones.filter((phone) => (burst.count.get(phone) ?? 0) > 1).length;
  const { rows: inbox } = await sql<{ rows: string; applied: string }>`
    select count(*) as rows, count(*) filter (where outcome = 'applied') as applied
      from inbox where idempotency_key = any(${burst.keys}::text[])`.execute(orchestrator.db);
  const { rows: messages } = await sql<{ n: string }>`
    select count(*) as n from messages where direction = 'inbound' and event_id = any(${burst.keys}::text[])`.execute(orchestrator.db);
  const { rows: states } = await sql<{ state: string; n: string }>`
    select state, count(*) as n from conversations where tenant_id = ${burst.tenant} group by state`.execute(orchestrator.db);
  const byState = Object.fromEntries(states.map((row) => [row.state, Number(row.n)]));
  const result = {
    oneReply,
    noReply,
    extraReplies,
    inboxRows: Number(inbox[0].rows),
    inboxApplied: Number(inbox[0].applied),
    inboundMessages: Number(messages[0].n),
    states: byState,
  };
  const ok =
    oneReply === n && result.inboxRows === n && result.inboxApplied === n && result.inboundMessages === n && byState.awaitingReply === n && Object.keys(byState).length === 1;
  return { ok, ...result };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
