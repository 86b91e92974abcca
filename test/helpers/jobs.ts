import { sql } from 'kysely';
import type { AnyEventObject } from 'xstate';
import type { Db } from '../../src/db/database.js';
import type { EventEnvelope } from '../../src/runtime/apply-event.js';

export interface QueuedJob {
  id: string;
  payload: any;
  run_at: Date;
  key: string | null;
  /** Lower runs first (src/runtime/job-queue.ts JOB_PRIORITY). */
  priority: number;
}

/** The conversation's jobs of one task still in graphile-worker's queue, oldest first. */
export async function queuedJobs(db: Db, conversationId: string, task: string): Promise<QueuedJob[]> {
  const { rows } = await sql<QueuedJob>`
    select j.id, j.payload, j.run_at, j.key, j.priority from graphile_worker._private_jobs j
    join graphile_worker._private_tasks t on t.id = j.task_id
    where t.identifier = ${task} and j.payload->>'conversationId' = ${conversationId} order by j.id`.execute(db);
  return rows;
}

/**
 * Makes a scheduled job due now: the test's way of letting time pass for a durable timer (its run_at is
 * real time, fixed when it was scheduled). Returns how many jobs it moved.
 */
export async function runJobNow(db: Db, jobKey: string): Promise<number> {
  const result = await sql`update graphile_worker._private_jobs set run_at = now() where key = ${jobKey}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Makes every queued job of the conversation due now: lets graphile-worker's retry backoff (seconds, growing)
 * pass without waiting for it, as runJobNow does for a timer. Locked (running) jobs are left alone.
 */
export async function runConversationJobsNow(db: Db, conversationId: string): Promise<number> {
  const result = await sql`update graphile_worker._private_jobs set run_at = now()
    where payload->>'conversationId' = ${conversationId} and locked_at is null and run_at > now()`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** What the worker applies when an invoke job finishes with `event`: keyed and tokened as worker.ts keys it. */
export function invokeResult(job: QueuedJob, event: AnyEventObject): EventEnvelope {
  const { conversationId, invokeId, token } = job.payload as { conversationId: string; invokeId: string; token: string };
  return { conversationId, event, idempotencyKey: `result:${token}`, actor: 'worker', origin: { kind: 'invoke', id: invokeId, token }, ifNotAccepted: 'record' };
}
