import { Logger as GraphileLogger, runMigrations } from 'graphile-worker';
import type pg from 'pg';
import { z } from 'zod';
import { inPgTransaction } from '../db/database.js';
import type { JobWrite } from '../db/event-store.js';
import { AppError } from '../errors.js';
import { requestContext } from '../logger.js';

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
 * graphile-worker runs due jobs lowest priority first (then by run_at). A turn in progress finishes before
 * new turns start: the send of a drafted reply, timers and effects (the consequences of a transition already
 * committed) go ahead of drafting, which starts a turn and waits seconds on a model. Without this, a burst
 * of inbound texts put every send behind every draft of the burst (jobs ran in run_at order).
 */
export const JOB_PRIORITY = { finishTurn: 0, startTurn: 10 } as const;
/** Invokes that start a turn; any other invoke (the sender) finishes one. */
const TURN_STARTING_INVOKES: ReadonlySet<string> = new Set(['draftReply']);

export function jobPriority(task: keyof typeof TASKS, payload: InvokePayload | TimerPayload | EffectPayload): number {
  return task === 'invoke' && TURN_STARTING_INVOKES.has((payload as InvokePayload).src) ? JOB_PRIORITY.startTurn : JOB_PRIORITY.finishTurn;
}

export const timerJobKey = (conversationId: string, timerId: string) => `timer:${conversationId}:${timerId}`;

export async function installJobQueue(pool: pg.Pool) {
  await runMigrations({ pgPool: pool, logger: silentGraphileLogger });
  await installQuietAddJobs(pool);
}

/**
 * graphile-worker's `add_jobs` ends with `pg_notify('jobs:insert')`, and a transaction that notified holds a
 * database-wide lock from its commit's start to its end (WAL flush included): every event that wrote a
 * job committed one at a time (docs/benchmarks.md, "Where the time goes"). Events write their jobs through
 * `add_jobs_quietly`, the same function with the notification taken out, derived from graphile-worker's own
 * definition at every start (so it follows the library's upgrades), and the workers are told after commit
 * (jobAnnouncer). If the definition no longer has exactly the notification we know, the quiet function
 * simply calls `add_jobs` (notifying, as before) rather than guess.
 */
const QUIET_ADD_JOBS = 'add_jobs_quietly';
/**
 * Our functions' schema: not `public`, which Supabase's REST API serves as RPCs to `anon` (migration
 * 202612049001_api_roles). Only the owner and the service role (src/db/app-role.ts) may use it.
 */
export const HELPER_SCHEMA = 'orchestrator';
/** Its signature, for grants (src/db/app-role.ts). */
export const QUIET_ADD_JOBS_FUNCTION = `${HELPER_SCHEMA}.${QUIET_ADD_JOBS}(graphile_worker.job_spec[], boolean)`;
const QUIET_ADD_JOBS_LOCK = 7_201_313;

async function installQuietAddJobs(pool: pg.Pool) {
  await inPgTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [QUIET_ADD_JOBS_LOCK]);
    const { rows } = await client.query<{ definition: string; owner: boolean }>(
      `select pg_get_functiondef(p.oid) as definition, pg_has_role(current_user, p.proowner, 'usage') as owner
         from pg_proc p where p.oid = 'graphile_worker.add_jobs(graphile_worker.job_spec[], boolean)'::regprocedure`,
    );
    if (rows[0]!.owner) {
      await client.query(quietAddJobsDefinition(rows[0]!.definition));
      await client.query(`revoke all on function ${QUIET_ADD_JOBS_FUNCTION} from public`);
      // Where versions before the helper schema installed it: a REST RPC on Supabase.
      await client.query(`drop function if exists public.${QUIET_ADD_JOBS}(graphile_worker.job_spec[], boolean)`);
      return;
    }
    // A connection that does not own the queue (the service's own role) uses what the owner installed.
    const { rows: existing } = await client.query<{ installed: boolean }>('select to_regprocedure($1) is not null as installed', [QUIET_ADD_JOBS_FUNCTION]);
    if (!existing[0]!.installed) throw new AppError('job_queue_not_installed', `${HELPER_SCHEMA}.${QUIET_ADD_JOBS} is missing: run the migrations as the owner`, 500, false);
  });
}

/** `add_jobs` without its notification (exported for its test); any other shape falls back to calling `add_jobs`. */
export function quietAddJobsDefinition(addJobs: string): string {
  const header = 'FUNCTION graphile_worker.add_jobs(';
  const notification = /\n[ \t]*perform pg_notify\('jobs:insert',[^\n]*;[ \t]*(?=\n)/g;
  const found = addJobs.match(notification) ?? [];
  if (addJobs.split(header).length === 2 && found.length === 1) {
    return addJobs.replace(notification, '').replace(header, `FUNCTION ${HELPER_SCHEMA}.${QUIET_ADD_JOBS}(`);
  }
  return `create or replace function ${HELPER_SCHEMA}.${QUIET_ADD_JOBS}(specs graphile_worker.job_spec[], job_key_preserve_run_at boolean default false)
    returns setof graphile_worker._private_jobs language sql as $$ select * from graphile_worker.add_jobs(specs, job_key_preserve_run_at) $$`;
}

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
    priority: jobPriority(job.task, job.payload),
  }));
}

export const silentGraphileLogger = new GraphileLogger(() => () => {});
