/**
 * One burst of turns against a running orchestrator: N distinct debtors text at once; each turn is timed
 * from its POST to the SMS Agent simulator receiving the reply. Then exactly-once is checked in the database
 * and in the simulator.
 */
import { sql } from 'kysely';
import type { Orchestrator } from '../../src/composition.js';
import { startCpuWindow, type CpuWindow } from './cpu.js';
import { debtorOnRecord } from './debtor-loop.js';
import type { OutsideWorld } from './outside-world.js';
import { countStatements } from './statement-count.js';
import { percentiles, type Percentiles } from './stats.js';

export const TURN_TEXT = 'Hi, what is my balance?';

export interface TurnResult {
  n: number;
  /** Turns whose reply arrived before the deadline. */
  completed: number;
  /** POST → reply at the SMS Agent, ms. */
  turnMs: Percentiles;
  /** POST → 202 (retries included), ms. */
  postMs: Percentiles;
  /** Where a turn's time goes, from the transitions' own timestamps (see `stageTimes`). */
  stages: Stages;
  /**
   * TCP connections the service accepted during the burst. A busy process accepts one per turn of its event
   * loop, so a burst on new connections is taken in slowly (docs/benchmarks.md, the eleventh pass).
   */
  connectionsOpened: number;
  /** What one turn costs, from the first POST to the last reply (warm-up and the duplicate watch excluded). */
  cost: {
    /** SQL statements the service sent (every pool, the worker's included). */
    statements: number;
    /** CPU of the service's process, of PostgreSQL, and of the outside world (load, simulators, model stub), ms. */
    serviceCpuMs: number;
    postgresCpuMs: number | null;
    outsideCpuMs: number;
    /**
     * The part of it used before the first model answer could come back (the model's delay after the first
     * POST): the work before each turn's model call, when the burst's is done by then (100 at once: yes;
     * 1,000: not all of it). The rest is the work after the model call, the p95's path (docs/benchmarks.md).
     */
    beforeModel: { serviceCpuMs: number; postgresCpuMs: number | null; outsideCpuMs: number } | null;
    topStatements: Array<[string, number]>;
  };
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
  world: OutsideWorld;
  token: string;
  n: number;
  runId: string;
  /** The first debtor's index (debtorOnRecord): distinct ranges per burst in one process, so bursts never share a number. */
  firstDebtor: number;
  /**
   * The run whose debtors text (default: this one's, new debtors). An earlier burst's: debtors we answered
   * before, whose conversations rest in awaitingReply with a timer, text again (the usual turn in the field).
   */
  debtorsOf?: string;
  timeoutMs: number;
  /** How long to keep watching after the last reply, for duplicates. */
  settleMs: number;
  /** The PostgreSQL server's postmaster, for its CPU (null: not measured). */
  postmasterPid: number | null;
  /** The model stub's delay: CPU is also read at this point, before which no model answer can have come back. */
  modelDelayMs: number;
}): Promise<TurnResult> {
  const { orchestrator, n, runId } = options;
  // Each debtor a tenant of its own, texting from the number on its record: a debtor's usual turn.
  const debtors = Array.from({ length: n }, (_, i) => debtorOnRecord(`tenant-bench-${options.debtorsOf ?? runId}`, options.firstDebtor + i));
  const tenants = debtors.map((debtor) => debtor.tenant);
  const phones = debtors.map((debtor) => debtor.phone);
  const keys = phones.map((_, i) => `turn-${runId}-${i}`);
  const statements = countStatements();
  statements.reset();
  let connectionsOpened = 0;
  const countConnection = () => void (connectionsOpened += 1);
  orchestrator.server!.on('connection', countConnection);
  const answered = await answersRecorded(orchestrator);
  const cpu = startCpuWindow(options.postmasterPid);
  const firstPost = Date.now();
  let used: CpuWindow | undefined;
  let statementsUsed = 0;
  let windowEnd: Promise<void> | undefined;
  let topStatements: Array<[string, number]> = [];
  // The split at the model: before the first answer can come back, every turn's CPU is work before its model call.
  let beforeModel: Promise<{ service: number; postgres: number | null; outside: number }> | undefined;
  const split = setTimeout(() => {
    const sample = cpu.sample();
    beforeModel = options.world.cpuSoFar().then((outside) => ({ service: sample.benchProcessMs, postgres: sample.postgresMs, outside }));
  }, options.modelDelayMs);
  const seen = await options.world.burst(
    { url: orchestrator.url!, token: options.token, debtors, keys, text: TURN_TEXT, timeoutMs: options.timeoutMs, settleMs: options.settleMs },
    () => {
      // The window ends when the work the replies leave behind is done too (their acceptance, the sent result),
      // not when the last reply arrives: what runs after it is the turns' cost as much as what ran before.
      windowEnd = answered.reach(n).then(() => {
        used = cpu.stop((Date.now() - firstPost) / 1000);
        statementsUsed = statements.total();
        topStatements = statements.top(Number(process.env.BENCH_TOP_STATEMENTS ?? 12));
      });
    },
  );
  await windowEnd;
  orchestrator.server!.off('connection', countConnection);
  used ??= cpu.stop((Date.now() - firstPost) / 1000);
  clearTimeout(split);
  const before = await beforeModel;

  const firstArrival = new Map<string, number>();
  const count = new Map<string, number>();
  for (const [phone, times] of Object.entries(seen.arrivals)) {
    count.set(phone, times.length);
    firstArrival.set(phone, Math.min(...times));
  }
  const started = new Map(Object.entries(seen.started));
  const turns = [...firstArrival].map(([phone, at]) => at - started.get(phone)!);
  const lastArrival = Math.max(...firstArrival.values());
  const wallSeconds = (lastArrival - Math.min(...started.values())) / 1000;
  return {
    n,
    completed: firstArrival.size,
    turnMs: percentiles(turns),
    postMs: percentiles(seen.postMs),
    wallSeconds,
    turnsPerSecond: firstArrival.size / wallSeconds,
    non202: seen.non202,
    statuses: seen.statuses,
    retried: seen.retried,
    cost: {
      statements: statementsUsed / n,
      serviceCpuMs: used.benchProcessMs / n,
      postgresCpuMs: used.postgresMs === null ? null : used.postgresMs / n,
      outsideCpuMs: seen.cpuMs / n,
      beforeModel: before ? { serviceCpuMs: before.service / n, postgresCpuMs: before.postgres === null ? null : before.postgres / n, outsideCpuMs: before.outside / n } : null,
      topStatements: topStatements.map(([text, k]) => [text, k / n]),
    },
    stages: await stageTimes(orchestrator, { tenants, started, firstArrival }),
    connectionsOpened,
    exactlyOnce: await checkExactlyOnce(orchestrator, { tenants, phones, keys, count }),
  };
}

export interface Stages {
  /** POST → the inbound text's transition committed (HTTP, auth, validation, the pool, the transaction). */
  received: Percentiles;
  /** → the draft's result committed (the job waiting for a worker slot, the model's reply, the apply). */
  drafted: Percentiles;
  /** Within `drafted`: the model call as the drafter timed it (`drafts.latency_ms`: request out → answer parsed). */
  model: Percentiles;
  /** Within `drafted`, before the model call: the job waiting for a worker slot, its reads (→ the draft row's time less the call's). */
  toModel: Percentiles;
  /** → the reply's arrival at the SMS Agent (the send job waiting, the compliance gate, the HTTP call). */
  delivered: Percentiles;
  /**
   * The burst as one timeline, ms from its first POST: when the first (min), the median (p50) and the last turn
   * (max) got to each point. How spread out the model requests leave says whether the turns moved one by one or
   * all together.
   */
  timeline: Record<'committed' | 'modelOut' | 'resultCommitted' | 'replied', Percentiles>;
}

/**
 * Splits each turn at the commits of its transitions (`transitions.at`, the service's clock, the same
 * machine as the bench's): what waits where, so a change to one stage shows in its own column.
 */
async function stageTimes(
  orchestrator: Orchestrator,
  burst: { tenants: string[]; started: Map<string, number>; firstArrival: Map<string, number> },
): Promise<Stages> {
  // Only this burst's: debtors answered before (debtorsOf) have earlier turns on record.
  const since = new Date(Math.min(...burst.started.values()));
  const { rows } = await sql<{ phone: string; received: Date; drafted: Date | null; model_ms: number | null; model_out: Date | null }>`
    select c.phone as phone,
           min(t.at) filter (where t.event_type = 'sms.received') as received,
           min(t.at) filter (where t.from_state = 'drafting' and t.event_type like 'xstate.done.actor.%') as drafted,
           (select min(d.latency_ms) from drafts d where d.conversation_id = c.id and d.created_at >= ${since}) as model_ms,
           (select min(d.created_at - make_interval(secs => d.latency_ms / 1000.0)) from drafts d where d.conversation_id = c.id and d.created_at >= ${since}) as model_out
      from conversations c join transitions t on t.conversation_id = c.id and t.at >= ${since}
     where c.tenant_id = any(${burst.tenants}::text[])
     group by c.id, c.phone`.execute(orchestrator.db);
  const received: number[] = [];
  const drafted: number[] = [];
  const delivered: number[] = [];
  const model: number[] = [];
  const toModel: number[] = [];
  const firstPost = Math.min(...burst.started.values());
  const timeline = { committed: [] as number[], modelOut: [] as number[], resultCommitted: [] as number[], replied: [] as number[] };
  for (const row of rows) {
    const start = burst.started.get(row.phone);
    const arrival = burst.firstArrival.get(row.phone);
    if (start === undefined || arrival === undefined || row.drafted === null) continue;
    received.push(row.received.getTime() - start);
    drafted.push(row.drafted.getTime() - row.received.getTime());
    delivered.push(arrival - row.drafted.getTime());
    if (row.model_ms !== null) model.push(row.model_ms);
    if (row.model_out !== null) toModel.push(row.model_out.getTime() - row.received.getTime());
    timeline.committed.push(row.received.getTime() - firstPost);
    if (row.model_out !== null) timeline.modelOut.push(row.model_out.getTime() - firstPost);
    timeline.resultCommitted.push(row.drafted.getTime() - firstPost);
    timeline.replied.push(arrival - firstPost);
  }
  return {
    received: percentiles(received),
    drafted: percentiles(drafted),
    model: percentiles(model),
    toModel: percentiles(toModel),
    delivered: percentiles(delivered),
    timeline: {
      committed: percentiles(timeline.committed),
      modelOut: percentiles(timeline.modelOut),
      resultCommitted: percentiles(timeline.resultCommitted),
      replied: percentiles(timeline.replied),
    },
  };
}

async function checkExactlyOnce(
  orchestrator: Orchestrator,
  burst: { tenants: string[]; phones: string[]; keys: string[]; count: Map<string, number> },
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
    select state, count(*) as n from conversations where tenant_id = any(${burst.tenants}::text[]) group by state`.execute(orchestrator.db);
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


/**
 * Counts the turns whose reply is recorded as sent since this was called: committed transitions into
 * awaitingReply (a turn ends there once its sent result is applied, after its text's acceptance), read from the
 * service's own metrics in this process (no statement). `reach(n)` waits for n of them, at most 30 s.
 */
async function answersRecorded(orchestrator: Orchestrator) {
  const count = async () =>
    (await orchestrator.metrics.transitions.get()).values.filter((value) => value.labels.to === 'awaitingReply').reduce((sum, value) => sum + value.value, 0);
  const start = await count();
  return {
    async reach(n: number) {
      const deadline = Date.now() + 30_000;
      while ((await count()) - start < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    },
  };
}
