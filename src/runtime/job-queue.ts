import { sql } from 'kysely';
import { Logger as GraphileLogger, runMigrations } from 'graphile-worker';
import type pg from 'pg';
import { z } from 'zod';
import type { Trx } from '../db/database.js';
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
}

export async function addJob(
  trx: Trx,
  task: keyof typeof TASKS,
  payload: InvokePayload | TimerPayload | EffectPayload,
  options: { delayMs?: number; jobKey?: string } = {},
) {
  // The request (or the job of a request) that scheduled this work goes with it: its worker logs and calls carry it.
  const causedBy = payload.requestId ?? requestContext.getStore()?.requestId;
  // run_at from the database clock, like graphile-worker's own comparisons: replicas' clocks may differ.
  await sql`select graphile_worker.add_job(
    identifier => ${TASKS[task]}::text,
    payload => ${JSON.stringify(causedBy ? { ...payload, requestId: causedBy } : payload)}::json,
    run_at => now() + ${options.delayMs ?? 0}::bigint * interval '1 millisecond',
    max_attempts => ${MAX_ATTEMPTS[task]}::int,
    job_key => ${options.jobKey ?? null}::text,
    priority => ${jobPriority(task, payload)}::int
  )`.execute(trx);
}

export async function removeJob(trx: Trx, jobKey: string) {
  await sql`select graphile_worker.remove_job(${jobKey}::text)`.execute(trx);
}

export const silentGraphileLogger = new GraphileLogger(() => () => {});
