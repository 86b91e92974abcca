import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CONVERSATION_STATES } from '../machines/conversation/conversation.machine.js';
import { EXTERNAL_EVENT_TYPES } from '../machines/conversation/conversation.types.js';
import type { CommittedTransition } from './runtime/apply-event.js';
import { topLevelState } from './runtime/machine-snapshot.js';
import type { Backlog } from './runtime/observers.js';

/**
 * How one downstream call (one attempt) ended: a bounded set, never the upstream's words. `breaker_open` is a
 * call refused before any attempt; `cancelled` is our own abort (shutdown), which says nothing about the service.
 */
export type DownstreamOutcome = 'ok' | 'http_4xx' | 'http_5xx' | 'timeout' | 'network' | 'invalid_response' | 'cancelled' | 'breaker_open' | 'error';
export type BreakerStateName = 'closed' | 'open' | 'half-open';
const BREAKER_STATES: readonly BreakerStateName[] = ['closed', 'half-open', 'open'];

/** Read at scrape time; composition.ts provides them once the database and the clients exist. */
export interface ScrapeSources {
  backlog?: () => Promise<Backlog | null>;
  breakers?: Record<string, () => BreakerStateName>;
}

/** A turn waits seconds on a model when automatic, hours on a manager when not. */
const SECONDS_TURN = [1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600];
const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SECONDS_MODEL = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 30, 60, 120];

/** Every metric, declared once. Labels are bounded sets and never carry personal data. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orchestrator_process_' });
  // Gauges named like counters (promtool refuses them); the same counts stay, by type, in `…_active_handles` etc.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`orchestrator_process_nodejs_${name}`);
  const sources: ScrapeSources = {};
  // Each backlog gauge's collect asks for the backlog; one scrape reads the database once (backlog.ts caches).
  const backlog = () => sources.backlog?.() ?? Promise.resolve(null);
  return {
    registry,
    /** Where the scrape-time gauges read from (the database's backlog, the breakers). */
    readFrom(provided: ScrapeSources) {
      Object.assign(sources, provided);
    },
    jobSeconds: new Histogram({
      name: 'orchestrator_job_run_duration_seconds',
      help: 'Time one graphile-worker job ran in this process, by task and outcome',
      labelNames: ['task', 'outcome'] as const,
      buckets: SECONDS_FAST,
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'orchestrator_job_failures_total',
      help: 'Job runs in this process that threw (graphile-worker retries them until their attempts are used up), by task',
      labelNames: ['task'] as const,
      registers: [registry],
    }),
    jobQueue: new Gauge({
      name: 'orchestrator_job_queue_depth',
      help: 'Jobs in the queue by task and state: ready (due, not running), waiting (due later: timers, backoff), running, failed (attempts used up); the whole database, read at scrape',
      labelNames: ['task', 'state'] as const,
      registers: [registry],
      async collect() {
        const read = await backlog();
        if (!read) return;
        this.reset();
        for (const job of read.jobs) {
          for (const state of ['ready', 'waiting', 'running', 'failed'] as const) this.set({ task: job.task, state }, job[state]);
        }
      },
    }),
    jobOldestReady: new Gauge({
      name: 'orchestrator_job_oldest_ready_age_seconds',
      help: 'How long the oldest due job of each task has waited for a worker (0: none waiting); the whole database, read at scrape',
      labelNames: ['task'] as const,
      registers: [registry],
      async collect() {
        const read = await backlog();
        if (!read) return;
        this.reset();
        for (const job of read.jobs) this.set({ task: job.task }, job.oldestReadyAgeSeconds);
      },
    }),
    approvalsPending: new Gauge({
      name: 'orchestrator_approvals_pending',
      help: 'Drafts waiting for a manager; the whole database, read at scrape',
      registers: [registry],
      async collect() {
        const read = await backlog();
        if (read) this.set(read.approvals.pending);
      },
    }),
    approvalOldest: new Gauge({
      name: 'orchestrator_approval_oldest_pending_age_seconds',
      help: 'How long the oldest pending approval has waited (0: none); the whole database, read at scrape',
      registers: [registry],
      async collect() {
        const read = await backlog();
        if (read) this.set(read.approvals.oldestAgeSeconds);
      },
    }),
    backlogReadFailures: new Counter({
      name: 'orchestrator_backlog_read_failures_total',
      help: 'Scrapes whose database read failed or took too long: the queue and approval gauges kept their last values',
      labelNames: ['reason'] as const,
      registers: [registry],
      // Waits for this scrape's read, so a timeout shows in the scrape it happened in.
      async collect() {
        await backlog();
      },
    }),
    downstreamCalls: new Counter({
      name: 'orchestrator_downstream_requests_total',
      help: 'Calls to downstream services (each attempt; breaker_open: refused before any attempt), by service and outcome',
      labelNames: ['service', 'outcome'] as const,
      registers: [registry],
    }),
    downstreamSeconds: new Histogram({
      name: 'orchestrator_downstream_request_duration_seconds',
      help: 'Time of one downstream call attempt, by service and outcome',
      labelNames: ['service', 'outcome'] as const,
      buckets: SECONDS_FAST,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'orchestrator_circuit_breaker_state',
      help: 'Circuit breaker of each downstream service in this process: 1 for its current state, 0 for the others',
      labelNames: ['service', 'state'] as const,
      registers: [registry],
      collect() {
        for (const [service, read] of Object.entries(sources.breakers ?? {})) {
          const current = read();
          for (const state of BREAKER_STATES) this.set({ service, state }, state === current ? 1 : 0);
        }
      },
    }),
    openaiTokens: new Counter({
      name: 'orchestrator_openai_tokens_total',
      help: 'Tokens the OpenAI drafter used, by model and kind (prompt, completion), as the API reported them',
      labelNames: ['model', 'kind'] as const,
      registers: [registry],
    }),
    openaiSeconds: new Histogram({
      name: 'orchestrator_openai_request_duration_seconds',
      help: 'Time of one OpenAI draft request (the SDK retries included), by model and outcome',
      labelNames: ['model', 'outcome'] as const,
      buckets: SECONDS_MODEL,
      registers: [registry],
    }),
    events: new Counter({
      name: 'orchestrator_events_total',
      help: 'Events applied to conversations, by type and outcome',
      labelNames: ['event_type', 'outcome'] as const,
      registers: [registry],
    }),
    eventSeconds: new Histogram({
      name: 'orchestrator_event_apply_seconds',
      help: 'Time to apply one event (load, decide, write), by where it came from',
      labelNames: ['source'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventBatchSize: new Histogram({
      name: 'orchestrator_event_batch_size',
      help: 'Events written together in one statement and one commit (group commit)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers: [registry],
    }),
    transitions: new Counter({
      name: 'orchestrator_transitions_total',
      help: 'State transitions committed',
      labelNames: ['from', 'to'] as const,
      registers: [registry],
    }),
    complianceDecisions: new Counter({
      name: 'orchestrator_compliance_decisions_total',
      help: 'Decisions of the send-time gate that held a text back or let it through by an exception, by rule and decision',
      labelNames: ['rule', 'decision'] as const,
      registers: [registry],
    }),
    turnSeconds: new Histogram({
      name: 'orchestrator_turn_duration_seconds',
      help: "From the debtor's text to our reply handed to the SMS Agent, by who decided the reply (auto, manager)",
      labelNames: ['decided_by'] as const,
      buckets: SECONDS_TURN,
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'orchestrator_http_request_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A reply handed to the SMS Agent (`sending.* → sent`) ends a turn: how long since the debtor's text it answers,
 * read from the context the event met (in memory, no query). Null for any other step, and for a text that
 * answers nothing (a notice, a plan reminder).
 */
export function turnOf(step: CommittedTransition, nowMs: number): { decidedBy: 'auto' | 'manager'; seconds: number } | null {
  if (step.to !== 'sent' || !step.from?.startsWith('sending')) return null;
  const outgoing = step.contextBefore?.outgoing;
  const since = outgoing?.inReplyTo ? Date.parse(outgoing.inReplyTo) : Number.NaN;
  if (!outgoing || Number.isNaN(since)) return null;
  return { decidedBy: outgoing.decidedBy, seconds: Math.max(0, (nowMs - since) / 1000) };
}

/** One downstream call, counted and timed (service-http.ts and the OpenAI drafter report here). */
export function recordCall(metrics: Metrics, service: string, outcome: DownstreamOutcome, seconds: number) {
  metrics.downstreamCalls.inc({ service, outcome });
  metrics.downstreamSeconds.observe({ service, outcome }, seconds);
}

/**
 * A scrape-time read that never fails the scrape: one read at a time (a scrape that comes while one runs
 * shares it), an answer younger than `freshMs` is reused (one scrape, several gauges), and a read slower than
 * `timeoutMs` or failing reports the last good answer (null before the first) and counts the failure.
 */
export function lastGood<T>(read: () => Promise<T>, options: { timeoutMs: number; freshMs: number; onFailure: (reason: 'timeout' | 'error', error?: unknown) => void }) {
  let last: { value: T; at: number } | null = null;
  let running: Promise<T | null> | null = null;
  return (): Promise<T | null> => {
    if (last && Date.now() - last.at < options.freshMs) return Promise.resolve(last.value);
    if (running) return running;
    const reading = read().then(
      (value) => {
        last = { value, at: Date.now() };
        return value;
      },
      (error: unknown) => {
        options.onFailure('error', error);
        return last?.value ?? null;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<T | null>((resolve) => {
      timer = setTimeout(() => {
        options.onFailure('timeout');
        resolve(last?.value ?? null);
      }, options.timeoutMs);
      timer.unref();
    });
    running = Promise.race([reading, timedOut]).finally(() => clearTimeout(timer));
    // A read that times out keeps `running` until it ends, so a slow database gets one query at a time.
    void reading.finally(() => {
      running = null;
    });
    return running;
  };
}

const KNOWN_EVENTS = new Set<string>(EXTERNAL_EVENT_TYPES);
const KNOWN_STATES = new Set<string>(CONVERSATION_STATES);

/** Keeps label values in a known set: internal `xstate.*` event names are folded by kind. */
export function eventLabel(type: string): string {
  if (KNOWN_EVENTS.has(type) || type.startsWith('timer.')) return type;
  if (type.startsWith('xstate.done.actor.')) return 'xstate.done.actor';
  if (type.startsWith('xstate.error.actor.')) return 'xstate.error.actor';
  return 'other';
}

/** A state path by its top-level state (`negotiating.awaitingConfirmation` → `negotiating`): a bounded set. */
export function stateLabel(state: string | null): string {
  if (state === null) return 'none';
  const top = topLevelState(state);
  return KNOWN_STATES.has(top) ? top : 'other';
}
