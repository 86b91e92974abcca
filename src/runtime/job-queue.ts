import type pg from 'pg';
import { z } from 'zod';
import type { JobWrite } from '../db/event-store.js';
import { AppError } from '../errors.js';
import { requestContext } from '../logger.js';
// The queue's schema is installed with the database's (src/db/job-queue-schema.ts); re-exported for its test.
export { quietAddJobsDefinition } from '../db/job-queue-schema.js';

/**
 * Durable work lives in graphile-worker's tables, written in the same transaction as the transition
 * that asked for it (`add_job` is plain SQL), so a commit is all-or-nothing.
 *
 * Glossary:
 * - invoke: runs an invoked actor (drafter, sender) and feeds `xstate.done|error.actor.<id>` back;
 * - timer: a delayed event, scheduled at now+delay, removed by job key when its state is left;
 * - effect: a named side effect (notify, confirmation text) with an idempotency key.
 * - token: `${conversationId}:${version}:${n}`, unique per scheduling; results carry it so that a
 *   late result of a stopped invoke or an old timer is recorded and ignored.
 */

export const TASKS = { invoke: 'invoke', timer: 'timer', effect: 'effect' } as const;

/** The HTTP request (X-Request-Id) that caused a job, carried through every job that follows from it. */
const requestId = z.string().min(1).max(128).optional();

/** Payloads as written by apply-event; a job checks its own when it starts, so a bad one fails loudly. */
export const invokePayload = z.object({
  conversationId: z.string().min(1),
  invokeId: z.string().min(1),
  src: z.string().min(1),
  input: z.unknown(),
  token: z.string().min(1),
  requestId,
  /** A send waiting out an SMS Agent outage: when its first failure was (ISO), and how often it was put back. */
  outageSince: z.string().datetime().optional(),
  outageRetries: z.number().int().min(0).optional(),
});
export type InvokePayload = z.infer<typeof invokePayload>;

export const timerPayload = z.object({
  conversationId: z.string().min(1),
  timerId: z.string().min(1),
  token: z.string().min(1),
  event: z.looseObject({ type: z.string().min(1) }),
  requestId,
});
export type TimerPayload = z.infer<typeof timerPayload>;

export const effectPayload = z.object({
  conversationId: z.string().min(1),
  type: z.string().min(1),
  params: z.unknown(),
  key: z.string().min(1),
  requestId,
});
export type EffectPayload = z.infer<typeof effectPayload>;

export function readPayload<T>(schema: z.ZodType<T>, raw: unknown, task: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
  throw new AppError('bad_job_payload', `a ${task} job has a payload of the wrong shape (${fields})`, 500, false);
}

/**
 * How often graphile-worker runs a job at most. For invokes this is larger than the attempts after which
 * the worker feeds the error to the machine (DEFAULT_INVOKE_ATTEMPTS), so a crash or a failed write during
 * the last attempt still leaves a run that reports the outcome.
 */
export const MAX_ATTEMPTS = { invoke: 25, timer: 25, effect: 8 } as const;

/**
 * graphile-worker runs due jobs lowest priority first (then by run_at), ranked by who is waiting:
 * - `finishTurn`: a turn in progress (the send of a drafted reply, timers, texts to the debtor, a manager asked
 *   to approve a reply) finishes before new turns start. Without this, a burst of inbound texts put every send
 *   behind every draft of the burst (jobs ran in run_at order).
 * - `startTurn`: drafting, which starts a turn and waits seconds on a model.
 * - `informStaff`: notices no debtor's turn waits on (StaffNotice in event-step.ts). Ranked with the turn's
 *   work, texts to escalated conversations arriving faster than the worker could notify kept every debtor in
 *   `drafting` until they stopped (docs/benchmarks.md, the eleventh pass).
 */
export const JOB_PRIORITY = { finishTurn: 0, startTurn: 10, informStaff: 20 } as const;
export type JobRank = keyof typeof JOB_PRIORITY;
const TURN_STARTING_INVOKES: ReadonlySet<string> = new Set(['draftReply']);

/** An invoke's priority: drafting starts a turn; any other invoke (the sender) finishes one. */
export function invokePriority(payload: InvokePayload): number {
  return TURN_STARTING_INVOKES.has(payload.src) ? JOB_PRIORITY.startTurn : JOB_PRIORITY.finishTurn;
}

/** A job's priority: its rank, else an invoke's by what it starts; timers and effects finish a turn. */
function priorityOf(job: JobSpec): number {
  if (job.rank) return JOB_PRIORITY[job.rank];
  return job.task === 'invoke' ? invokePriority(job.payload as InvokePayload) : JOB_PRIORITY.finishTurn;
}

export const timerJobKey = (conversationId: string, timerId: string) => `timer:${conversationId}:${timerId}`;
export const staffNoticeJobKey = (conversationId: string, name: string) => `notice:${conversationId}:${name}`;

/**
 * Tells the workers (every process's LISTEN) that events committed jobs, in place of add_jobs' own
 * notification: one NOTIFY at a time per process, carrying the count of everything committed meanwhile.
 * A NOTIFY on its own writes nothing, so it holds the lock only briefly. Lost (a crash right after the
 * commit, a failed query), the jobs are found by the workers' poll within a second (worker.ts).
 */
export function jobAnnouncer(pool: pg.Pool, onError: (error: unknown) => void): (count: number) => void {
  let pending = 0;
  let inFlight = false;
  const send = () => {
    const count = pending;
    pending = 0;
    inFlight = true;
    pool
      .query(`select pg_notify('jobs:insert', $1)`, [JSON.stringify({ r: Math.random(), count })])
      .catch(onError)
      .finally(() => {
        inFlight = false;
        if (pending > 0) send();
      });
  };
  return (count) => {
    if (count <= 0) return;
    pending += count;
    if (!inFlight) send();
  };
}

/** A job an event asks for; written with the event (src/db/event-store.ts writeEvents), never on its own. */
export interface JobSpec {
  task: keyof typeof TASKS;
  payload: InvokePayload | TimerPayload | EffectPayload;
  delayMs?: number;
  /** A job with a key replaces the queued job of that key (graphile-worker's default job_key_mode). */
  jobKey?: string;
  /** Who waits on it (JOB_PRIORITY); without it an invoke ranks by what it starts, anything else finishes a turn. */
  rank?: JobRank;
}

/**
 * The rows `add_jobs` takes for an event's jobs (written with the event: src/db/event-store.ts writeEvents).
 * Built when the event is stepped, in the context of the request that caused it: its id goes with the work,
 * so the worker's log lines and calls carry it.
 */
export function jobRows(jobs: readonly JobSpec[]): JobWrite[] {
  const causedBy = requestContext.getStore()?.requestId;
  return jobs.map((job) => ({
    identifier: TASKS[job.task],
    payload: job.payload.requestId || !causedBy ? job.payload : { ...job.payload, requestId: causedBy },
    delay_ms: job.delayMs ?? 0,
    max_attempts: MAX_ATTEMPTS[job.task],
    job_key: job.jobKey ?? null,
    priority: priorityOf(job),
  }));
}

