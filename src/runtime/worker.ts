import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { EventEmitter, setMaxListeners } from 'node:events';
import { Logger as GraphileLogger, run, type JobHelpers, type Runner, type Task, type TaskList, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import { ConfigurationError, isRetryable, ServiceError } from '../errors.js';
import { SMS_AGENT } from '../adapters/ports.js';
import { requestContext, type Logger } from '../logger.js';
import type { JobOutcome } from './observers.js';
import type { ApplyResult, Runtime } from './apply-event.js';
import { hasOwnSession } from '../db/database.js';
import { poolsLockingWithoutSession, releaseJobsOfPools } from '../db/job-queue.repository.js';
import type { DraftRecord } from '../db/drafts.repository.js';
import type { FenceHeld } from '../db/event-store.js';
import type { FenceOptions } from './group-fence.js';
import type { InputFrom, OutputFrom } from 'xstate';
import type { ActionParams, ConversationActors } from '../../machines/conversation/conversation.machine.js';
import { effectPayload, invokePayload, invokePriority, MAX_ATTEMPTS, readPayload, TASKS, timerPayload, type InvokePayload } from './job-queue.js';
import type { EffectAction } from './projections.js';

/**
 * Runs the durable work written by apply-event and feeds results back through the same write path.
 * Any number of these may run, in the API process or on their own (`npm run worker`).
 */

export interface ActivityContext {
  /** Aborted when the worker shuts down; pass it to every call that can wait. */
  signal: AbortSignal;
  /**
   * Runs `work` only while this invoke is still the live one, holding the conversation so that an event which
   * would stop it (a STOP) waits until `work` is done: the send's hand-off runs in it (docs/architecture.md §4).
   */
  whileLive?: LiveFence;
  /**
   * Keeps a draft to be written in the statement that applies this activity's result (one statement less
   * per turn, and no draft without the result that refers to it). A run whose result is not applied (it
   * fails, or an earlier run's result was) writes none.
   */
  keepDraft(draft: DraftRecord): void;
}

/**
 * See ActivityContext.whileLive: `{ live: false }` when the invoke was stopped and `work` did not run. `options`:
 * what else the fence holds with the row (the send's number; `held` says what it found there), and the text
 * `work` handed off, recorded as accepted in the fence's transaction (Runtime.whileLive).
 */
export type LiveFence = <T>(work: (held: FenceHeld) => Promise<T>, options?: FenceOptions<T>) => Promise<{ live: true; value: T } | { live: false }>;
/**
 * The implementations of the machine's invoked actors, by `src`, typed from the machine itself: an actor
 * without an activity, or an activity whose input or output differs from its actor's, fails the type check.
 */
export type Activities = {
  [K in keyof ConversationActors]: (input: InputFrom<ConversationActors[K]>, context: ActivityContext) => Promise<OutputFrom<ConversationActors[K]>>;
};

export interface EffectContext {
  conversationId: string;
  key: string;
  signal: AbortSignal;
  /** Puts this effect back in the queue to run at `runAt` (quiet hours), under the same key. */
  runAgainAt(runAt: Date): Promise<void>;
}
/** The named actions that run as effect jobs (src/runtime/projections.ts), each with its own params. */
export type Effects = { [K in EffectAction]: (params: ActionParams[K], context: EffectContext) => Promise<unknown> };

export interface WorkerDeps {
  pool: pg.Pool;
  runtime: Runtime;
  activities: Activities;
  effects: Effects;
  logger: Logger;
  concurrency: number;
  /** How often an invoke is tried (on retryable errors) before its error is fed to the machine. */
  invokeMaxAttempts?: number;
  /** How long a send waits out an SMS Agent outage (from its first failure) before it fails for staff; default 15 min. */
  sendRetryWindowMs?: number;
  /** Told how every job run ended and how long it took (metrics). */
  observeJob?: (task: string, outcome: JobOutcome, seconds: number) => void;
  /** How often to look for jobs left locked by a worker process that died. */
  sweepIntervalMs?: number;
  /**
   * Called after the liveness session was lost (or the job runner ended without being told to) and the
   * running jobs were abandoned. Other workers will soon treat this process as dead and run its jobs, so it
   * must not go on: the entry points exit here, non-zero, for their supervisor to start a new one.
   */
  onLivenessLost?: (error: Error) => void;
}

export interface WorkerHealth {
  /** Running and polling: what `/health/ready` asks of a process that runs a worker. */
  ready: boolean;
  state: 'running' | 'stalled' | 'fenced' | 'stopped';
}

export interface WorkerHandle {
  processId: string;
  health(): WorkerHealth;
  /** Releases the runner, its utilities and the liveness session, even when one of those steps fails. */
  stop(): Promise<void>;
}

const APP_NAME_PREFIX = 'orchestrator-worker:';
/** Failed attempts of an invoke (retryable errors) before its error is fed to the machine. */
export const DEFAULT_INVOKE_ATTEMPTS = 4;

/** The request that caused a job, when one did (`addJob` stores it in the payload); bounded like the header. */
function requestIdOf(raw: unknown): string | undefined {
  const value = (raw as { requestId?: unknown } | null)?.requestId;
  return typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined;
}

export function createTaskList(
  deps: Pick<WorkerDeps, 'runtime' | 'activities' | 'effects' | 'logger' | 'invokeMaxAttempts' | 'observeJob' | 'sendRetryWindowMs'> & {
    concurrency?: number;
  },
): TaskList {
  const { runtime, activities, effects, logger } = deps;
  /**
   * Every job runs in the context of the request that caused it: its log lines carry that request id (the
   * logger's mixin), the events it applies pass it on to the jobs they schedule, and its calls to our services
   * send it as X-Request-Id. A job no request caused runs outside any context. Its run is timed and counted.
   */
  const traced =
    (task: string, body: (raw: unknown, helpers: JobHelpers, log: Logger) => Promise<void>): Task =>
    (raw, helpers) => {
      const requestId = requestIdOf(raw);
      const runJob = async () => {
        const log = logger.child({ component: 'worker', task, jobId: helpers.job.id });
        const started = performance.now();
        log.debug({ attempt: helpers.job.attempts }, 'job started');
        try {
          await body(raw, helpers, log);
        } catch (error) {
          const seconds = (performance.now() - started) / 1000;
          deps.observeJob?.(task, 'failed', seconds);
          log.debug({ attempt: helpers.job.attempts, ms: Math.round(seconds * 1000) }, 'job failed');
          throw error;
        }
        const seconds = (performance.now() - started) / 1000;
        deps.observeJob?.(task, 'ok', seconds);
        log.debug({ attempt: helpers.job.attempts, ms: Math.round(seconds * 1000) }, 'job finished');
      };
      return requestId ? requestContext.run({ requestId }, runJob) : requestContext.exit(runJob);
    };
  // graphile-worker hands every job of a pool the same AbortSignal, and each running job's calls listen on
  // it: with many jobs at once that is expected, not a leak, up to a few listeners per job.
  const widened = new WeakSet<AbortSignal>();
  const signalOf = (helpers: JobHelpers) => {
    const signal = helpers.abortSignal ?? new AbortController().signal;
    if (!widened.has(signal)) {
      widened.add(signal);
      setMaxListeners(Math.max(10, 4 * (deps.concurrency ?? 1)), signal);
    }
    return signal;
  };

  /**
   * Runs an invoke: its activity, then its result through the write path. The invokes that result starts
   * (a draft sent on its own starts the send) run here too, at once, in the same job: a turn is one job and
   * its applies are the durable checkpoints. If the job stops before the chain is done, its retry finds the
   * result applied and runs what it started (Runtime.startedBy); the send is idempotent by its token.
   */
  async function runInvoke(job: InvokePayload, helpers: JobHelpers, log: Logger, chain: { startedHere: boolean; depth: number }): Promise<void> {
    if (!Object.hasOwn(activities, job.src)) throw new Error(`no activity for actor src ${job.src}`);
    const activity = activities[job.src as keyof Activities] as (input: unknown, context: ActivityContext) => Promise<unknown>;
    const origin = { kind: 'invoke' as const, id: job.invokeId, token: job.token };
    const common = { conversationId: job.conversationId, idempotencyKey: `result:${job.token}`, actor: 'worker', origin, ifNotAccepted: 'record' as const };
    // Started by this job's own last write: live unless an event came since, which the send's fence re-checks.
    if (!chain.startedHere && !(await runtime.isLive(job.conversationId, origin, { memoryWillDo: STOPPED_COSTS_ONLY_TIME.has(job.src) }))) {
      // Stopped (superseded draft, STOP during a send, staff closed), or applied by an earlier run of this job
      // that ended before the invokes its result started were done: those run now.
      for (const next of await runtime.startedBy(job.conversationId, common.idempotencyKey)) await runInvoke(next, helpers, log, { startedHere: false, depth: chain.depth + 1 });
      return;
    }
    // A chain longer than this (a machine that keeps invoking) queues the rest as jobs.
    const runsStartedInvokes = chain.depth < MAX_CHAIN;
    let output: unknown;
    const drafts: DraftRecord[] = [];
    try {
      const whileLive: LiveFence = (work, options) => runtime.whileLive(job.conversationId, origin, work, options);
      output = await activity(job.input, { signal: signalOf(helpers), whileLive, keepDraft: (draft) => drafts.push(draft) });
    } catch (error) {
      // The job itself may run more often (MAX_ATTEMPTS.invoke, for crashes); this many failures are final,
      // except while the SMS Agent is down: that is waited out for the retry window.
      const maxAttempts = deps.invokeMaxAttempts ?? DEFAULT_INVOKE_ATTEMPTS;
      const code = (error as { code?: string }).code ?? 'error';
      // The same invoke (the same token: its result still counts) as a job of its own, due at `runAt`, with its
      // own tries; under a key, so a run of this job again moves that job rather than adding one.
      const requeue = (payload: InvokePayload, runAt: Date, keyPrefix: 'outage' | 'retry') =>
        helpers.addJob(TASKS.invoke, payload, { runAt, maxAttempts: MAX_ATTEMPTS.invoke, priority: invokePriority(payload), jobKey: `${keyPrefix}:${job.token}` });
      const waitingOut = outageRetry(job, error, Date.now(), deps.sendRetryWindowMs ?? DEFAULT_SEND_RETRY_WINDOW_MS);
      if (waitingOut) {
        // Put back on the durable timer; the tries it spends while the agent is down count against the window, not the attempts.
        const { runAt, payload } = waitingOut;
        await requeue(payload, runAt, 'outage');
        log.warn({ conversationId: job.conversationId, src: job.src, retry: payload.outageRetries, runAt, code }, 'invoke waits out an SMS Agent outage');
        return;
      }
      // An outage past its window is final (below), wherever the send started.
      const retryable = isRetryable(error) && !isOutage(error);
      if (retryable && chain.depth > 0) {
        // Started by a write of this job (a draft's send): its tries are its own, not what the job has left after its first invoke's.
        await requeue(job, new Date(Date.now() + OWN_JOB_RETRY_DELAY_MS), 'retry');
        log.warn({ conversationId: job.conversationId, src: job.src, code }, 'invoke started in this job failed; it runs again as a job of its own');
        return;
      }
      if (retryable && helpers.job.attempts < maxAttempts) {
        log.warn({ conversationId: job.conversationId, src: job.src, attempt: helpers.job.attempts, code }, 'invoke failed, will retry');
        throw error;
      }
      log.warn({ conversationId: job.conversationId, src: job.src, attempt: helpers.job.attempts, code }, 'invoke failed for good');
      const failed = await runtime.apply({
        ...common,
        event: { type: `xstate.error.actor.${job.invokeId}`, error: { code, message: (error as Error).message } },
        runsStartedInvokes,
      });
      return runStarted(failed, helpers, log, chain.depth + 1);
    }
    const done = await runtime.apply({ ...common, event: { type: `xstate.done.actor.${job.invokeId}`, output }, runsStartedInvokes, drafts });
    await runStarted(done, helpers, log, chain.depth + 1);
  }

  /** The invokes an applied result started; a duplicate answer's may have run already, so each checks it is still live. */
  async function runStarted(result: ApplyResult, helpers: JobHelpers, log: Logger, depth: number) {
    for (const next of result.started ?? []) await runInvoke(next, helpers, log, { startedHere: !result.duplicate, depth });
  }

  return {
    [TASKS.invoke]: traced(TASKS.invoke, async (raw, helpers, log) => {
      await runInvoke(readPayload(invokePayload, raw, TASKS.invoke), helpers, log, { startedHere: false, depth: 0 });
    }),

    [TASKS.timer]: traced(TASKS.timer, async (raw, helpers, log) => {
      const job = readPayload(timerPayload, raw, TASKS.timer);
      const result = await runtime.apply({
        conversationId: job.conversationId,
        event: job.event,
        idempotencyKey: `timer:${job.token}`,
        actor: 'timer',
        origin: { kind: 'timer', id: job.timerId, token: job.token },
        ifNotAccepted: 'record',
        runsStartedInvokes: true,
      });
      await runStarted(result, helpers, log, 1);
    }),

    [TASKS.effect]: traced(TASKS.effect, async (raw, helpers) => {
      const job = readPayload(effectPayload, raw, TASKS.effect);
      if (!Object.hasOwn(effects, job.type)) throw new Error(`no effect handler for ${job.type}`);
      const handler = effects[job.type as EffectAction] as (params: unknown, context: EffectContext) => Promise<unknown>;
      await handler(job.params, {
        conversationId: job.conversationId,
        key: job.key,
        signal: signalOf(helpers),
        async runAgainAt(runAt) {
          // A job key per effect: a second deferral of the same effect moves the one job instead of adding another.
          await helpers.addJob(TASKS.effect, job, { runAt, jobKey: `later:${job.key}`, maxAttempts: MAX_ATTEMPTS.effect, priority: helpers.job.priority });
        },
      });
    }),
  };
}

export async function startWorker(deps: WorkerDeps): Promise<WorkerHandle> {
  const processId = `${os.hostname().slice(0, 16)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = deps.logger.child({ component: 'worker', processId });

  // Liveness: a session named after our worker pool exists exactly as long as this process does.
  const liveness = await deps.pool.connect();
  try {
    await requireOwnSession(liveness, deps.pool);
    // If this host vanishes (not just the process), the server drops the session after ~30 s of silence
    // instead of the kernel's default of hours, and other workers take over the jobs.
    await liveness.query(`select set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),
      set_config('tcp_keepalives_count', '4', false)`);
  } catch (error) {
    liveness.release(true);
    throw error;
  }
  // Fencing: without its session this process cannot prove it lives, and within LIVENESS_GRACE_MS others
  // will release its jobs; it stops working on them before that, rather than run them twice.
  let runner: Runner | undefined;
  let runnerEnded = false;
  let stopping = false;
  let sweeper: NodeJS.Timeout | undefined;
  let fenced: Promise<void> | null = null;
  let lastActivityAt = Date.now();
  liveness.on('error', (error: Error) => {
    if (fenced || stopping) return;
    log.fatal({ err: error }, 'worker lost (liveness session or job runner): abandoning running jobs');
    clearInterval(sweeper);
    fenced = (runner && !runnerEnded ? runner.kill('liveness session lost') : Promise.resolve())
      .catch(() => {})
      .finally(() => deps.onLivenessLost?.(error));
  });
  const lose = (error: unknown) => liveness.emit('error', error instanceof Error ? error : new Error(String(error)));
  const events = new EventEmitter() as WorkerEvents;
  events.on('pool:create', ({ workerPool }) => {
    liveness
      .query(`select set_config('application_name', $1, false)`, [`${APP_NAME_PREFIX}${workerPool.id}`])
      // Unnamed, the pool looks dead to every other worker: fence it like a lost session.
      .catch(lose);
  });
  // Readiness: the runner runs jobs, or fetched (it polls every second when idle) or finished one lately.
  let jobsRunning = 0;
  const active = () => void (lastActivityAt = Date.now());
  events.on('localQueue:getJobs:complete', active);
  events.on('job:start', () => void (jobsRunning += 1));
  events.on('job:complete', () => {
    jobsRunning -= 1;
    active();
  });
  const sweep = () => releaseJobsOfDeadWorkers(deps.pool, log);
  try {
    await sweep();
    runner = await run({
      pgPool: deps.pool,
      concurrency: deps.concurrency,
      taskList: createTaskList(deps),
      events,
      noHandleSignals: true,
      pollInterval: 1_000,
      logger: graphileLogger(log),
      preset: { worker: batching(deps.concurrency) },
    });
  } catch (error) {
    liveness.release(true);
    throw error;
  }
  // The runner ends only when told to. Ending on its own (graphile-worker shuts a pool down after errors it
  // cannot recover from, and reports some of them only in its log) leaves a process that looks up but runs
  // nothing: that is handled like a lost liveness session, so the entry point exits and is restarted. An
  // error after fencing is expected (it cannot record the jobs it abandons while the database is away; the
  // sweep releases them) and must not become an unhandled rejection.
  runner.promise.then(
    () => {
      runnerEnded = true;
      if (!stopping) lose(new Error('the job runner ended on its own'));
    },
    (error: unknown) => {
      runnerEnded = true;
      if (fenced) return log.warn({ err: error }, 'fenced job runner ended with an error');
      if (!stopping) lose(error);
    },
  );
  if (fenced) await runner.kill('liveness session lost while starting').catch(() => {});
  sweeper = setInterval(() => {
    sweep().catch((error: unknown) => log.warn({ err: error }, 'sweep for dead workers failed'));
  }, deps.sweepIntervalMs ?? 10_000);
  sweeper.unref();
  log.info({ concurrency: deps.concurrency }, 'worker started');

  return {
    processId,
    health() {
      if (stopping) return { ready: false, state: 'stopped' };
      if (fenced || runnerEnded) return { ready: false, state: 'fenced' };
      const polling = jobsRunning > 0 || Date.now() - lastActivityAt <= WORKER_STALE_MS;
      return polling ? { ready: true, state: 'running' } : { ready: false, state: 'stalled' };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(sweeper);
      // Every step runs even when one before it throws: a runner that already ended refuses stop(), and the
      // liveness client must still go back, or the pool's end (and the process's exit) waits for it forever.
      try {
        if (fenced) await fenced;
        else if (!runnerEnded) await runner!.stop();
      } catch (error) {
        log.warn({ err: error }, 'stopping the job runner failed');
      }
      liveness.release(fenced || runnerEnded ? true : undefined); // a broken session is destroyed, not pooled
      log.info('worker stopped');
    },
  };
}

/**
 * A worker only works on a connection that is one server session of its own: graphile-worker LISTENs for new
 * jobs, and the liveness session must exist exactly as long as this process. A transaction-mode pooler
 * neither keeps them nor graphile-worker's prepared statements (hasOwnSession in db/database.ts checks).
 */
export async function requireOwnSession(client: pg.PoolClient, pool: pg.Pool, timeoutMs = SESSION_CHECK_TIMEOUT_MS): Promise<void> {
  if (!(await hasOwnSession(client, pool, timeoutMs))) throw new ConfigurationError(SESSION_REQUIRED_MESSAGE);
}

export const SESSION_REQUIRED_MESSAGE =
  "the worker's database connection is not a session of its own: this looks like a transaction-mode pooler " +
  "(pgbouncer pool_mode = transaction, Supabase's port 6543), where its LISTEN and liveness session cannot work. " +
  'Set DATABASE_DIRECT_URL to a direct connection or a session-mode pooler (Supabase: db.<project>.supabase.co:5432, ' +
  "or the pooler's port 5432), or run this process with RUN_WORKER=0";
/** A notification round trip takes milliseconds; this is for a loaded machine, and is paid only when it fails. */
const SESSION_CHECK_TIMEOUT_MS = 5_000;
/** The runner fetches every second when idle; this long with no job running and no fetch, it is not polling. */
export const WORKER_STALE_MS = 60_000;

/**
 * How the pool fetches and completes jobs. Without a local queue each of the `concurrency` workers polls on
 * its own: with 100 workers that is 100 `get_job` queries a second while idle, and in a burst about a dozen
 * per job (measured: 12.5 statements of a 48-statement turn). With it, the pool fetches up to `size` jobs in
 * one query and hands them to idle workers; completions of one tick go in one statement (also the only
 * way a completion that meets the database gone is handled: without the batcher, graphile-worker does not
 * await the write and its rejection goes unhandled, which ends the whole process). The trade-offs
 * (graphile-worker's docs): jobs in the local queue are locked by this process (after a crash our sweep frees
 * them, as for running jobs, and activities are idempotent), and a job added with a higher priority waits
 * until the local queue is empty; the queue refills only as workers free up, so with `size` = concurrency
 * that wait is at most one round of the jobs already fetched.
 */
export function batching(concurrency: number) {
  return { localQueue: { size: concurrency }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };
}

/** How long a send waits out an SMS Agent outage before it fails (SEND_RETRY_WINDOW). */
export const DEFAULT_SEND_RETRY_WINDOW_MS = 15 * 60_000;
/** Waits between a send's tries while the SMS Agent is down: doubling from 2 s, at most a minute. */
const OUTAGE_BACKOFF_MS = { first: 2_000, max: 60_000 };

/**
 * An invoke the SMS Agent could not serve (down, 5xx, 408/429, timeout, breaker open, unreachable): the send,
 * or its reconciling read of the agent's history. An outage to wait out: the reply is not lost, only late.
 * Other failures (the model, the Collections Monitor) keep their counted attempts.
 */
function isOutage(error: unknown) {
  return error instanceof ServiceError && error.service === SMS_AGENT && error.retryable;
}

/** When an outage is still inside the window: the payload of the next try and when it runs; null otherwise. */
export function outageRetry(job: InvokePayload, error: unknown, now: number, windowMs: number): { runAt: Date; payload: InvokePayload } | null {
  if (!isOutage(error)) return null;
  const since = job.outageSince ? Date.parse(job.outageSince) : now;
  if (now - since >= windowMs) return null;
  const retries = (job.outageRetries ?? 0) + 1;
  const wait = Math.min(OUTAGE_BACKOFF_MS.max, OUTAGE_BACKOFF_MS.first * 2 ** (retries - 1));
  // Never past the window's end by more than the last wait: the try at the end decides.
  const runAt = new Date(Math.min(now + wait, since + windowMs));
  return { runAt, payload: { ...job, outageSince: new Date(since).toISOString(), outageRetries: retries } };
}

/**
 * Invokes for which this process's memory of the conversation will do to decide whether to run (no read):
 * one that turns out stopped (another process wrote the conversation since) costs only its time. A drafter's
 * model call is wasted, and its result, with the draft it keeps, is refused when applied. Not the sender: its
 * claim is committed before the fence finds it stopped, and counts against the tenant's caps for the number.
 */
const STOPPED_COSTS_ONLY_TIME: ReadonlySet<string> = new Set(['draftReply']);

/** How long an invoke that failed inside another's job waits before its own job runs it (graphile-worker's first retry waits ~2.7 s). */
const OWN_JOB_RETRY_DELAY_MS = 2_000;

/** Invokes one job runs in a row (a turn's draft and send are two); the rest are queued as jobs. */
const MAX_CHAIN = 4;

/** A pool may lock its first job a moment before its liveness session is named; give it this long. */
export const LIVENESS_GRACE_MS = 5_000;

/**
 * graphile-worker frees the jobs of a crashed worker only after 4 hours. Each of our worker pools
 * names a session after itself; a pool that holds locks but has no such session has died with its
 * process, so its jobs are unlocked now and run again (activities are idempotent by token).
 * Caveat: this assumes every graphile-worker pool on this database is one of ours.
 */
export async function releaseJobsOfDeadWorkers(pool: pg.Pool, log: Logger) {
  const poolIds = await poolsLockingWithoutSession(pool, { graceMs: LIVENESS_GRACE_MS, appNamePrefix: APP_NAME_PREFIX });
  if (poolIds.length === 0) return;
  // Jobs a newer job of their key replaced are dropped, not freed (releaseJobsOfPools says why).
  const superseded = await releaseJobsOfPools(pool, poolIds);
  log.warn({ poolIds, superseded }, 'released jobs locked by worker pools that died');
}

/** graphile-worker's own log lines, minus job payloads: those carry phone numbers and message texts. */
export function graphileLogger(log: Logger) {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const job = (meta as { job?: { id?: string; task_identifier?: string; attempts?: number } } | undefined)?.job;
    const error = (meta as { error?: unknown } | undefined)?.error;
    const fields = {
      scope: scope.label,
      ...(job ? { jobId: job.id, task: job.task_identifier, attempts: job.attempts } : {}),
      ...(error ? { err: error } : {}),
    };
    // Its messages name the task, never the payload; but a failure's message quotes the error's message and
    // stack ("Failed task 7 (invoke, …) with error '…'"), which may quote a debtor's text (a pg error does):
    // that part is cut, and the error is logged through the logger's safe serializer instead.
    const safe = withoutErrorText(message);
    if (level === 'error') log.error(fields, safe);
    else if (level === 'warning' && !EXPECTED_WARNINGS.some((pattern) => pattern.test(message))) log.warn(fields, safe);
    else log.debug(fields, safe);
  });
}

/**
 * graphile-worker's warnings that describe this design, not a fault: a pool smaller than the concurrency is
 * on purpose (a running job holds no connection; docs/architecture.md §3). At warn level on every start,
 * it would teach operators to ignore warnings.
 */
const EXPECTED_WARNINGS: readonly RegExp[] = [/^WARNING: having maxPoolSize \(\d+\) smaller than concurrency/];

/** "Failed task 7 (invoke, 3ms, attempt 1 of 4) with error 'x':\n  stack" → "Failed task 7 (invoke, 3ms, attempt 1 of 4)". */
export function withoutErrorText(message: string): string {
  return message.split('\n')[0]!.replace(/ with error\b.*$/, ' (error text withheld)');
}
