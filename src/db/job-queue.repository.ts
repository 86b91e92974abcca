import { sql } from 'kysely';
import type pg from 'pg';
import { inPgTransaction, type Db } from './database.js';

/**
 * Our statements on graphile-worker's own tables (its schema: job-queue-schema.ts): the backlog's counts for the
 * metrics and the dead-worker sweep (src/runtime/worker.ts releaseJobsOfDeadWorkers). Its private tables rather
 * than its `jobs` view: the view adds nothing we use.
 */

/** Jobs of one task, by state, and how long the oldest job that may run has waited. */
export interface TaskJobCounts {
  task: string;
  ready: number;
  waiting: number;
  running: number;
  failed: number;
  oldest_ready_age_seconds: number;
}

/** One aggregate over the job table (at scrape time, never per event). */
export async function jobCountsByTask(db: Db): Promise<TaskJobCounts[]> {
  const { rows } = await sql<TaskJobCounts>`
    select t.identifier as task,
      count(*) filter (where j.is_available and j.run_at <= now())::int as ready,
      count(*) filter (where j.is_available and j.run_at > now())::int as waiting,
      count(*) filter (where j.locked_at is not null)::int as running,
      count(*) filter (where j.locked_at is null and j.attempts >= j.max_attempts)::int as failed,
      coalesce(extract(epoch from now() - min(j.run_at) filter (where j.is_available and j.run_at <= now())), 0)::float8
        as oldest_ready_age_seconds
    from graphile_worker._private_jobs j
    join graphile_worker._private_tasks t on t.id = j.task_id
    group by t.identifier`.execute(db);
  return rows;
}

/**
 * Worker pools that have held a job lock for longer than `graceMs` and have no session named
 * `<appNamePrefix><pool id>`: each of our pools names one after itself, so such a pool died with its process.
 */
export async function poolsLockingWithoutSession(pool: pg.Pool, options: { graceMs: number; appNamePrefix: string }): Promise<string[]> {
  const { rows } = await pool.query<{ pool_id: string }>(
    `select distinct locked_by as pool_id from graphile_worker._private_jobs
      where locked_by is not null
        and locked_at < now() - $1::int * interval '1 millisecond'
        and locked_by not in (
          select substr(application_name, $2::int) from pg_stat_activity where application_name like $3
        )`,
    [options.graceMs, options.appNamePrefix.length + 1, `${options.appNamePrefix}%`],
  );
  return rows.map((row) => row.pool_id);
}

/** A job that a newer job of its key replaced: what releaseJobsOfPools drops (it says how such a job is told). */
export const REPLACED_JOB = 'key is null and attempts >= max_attempts and last_error is null and updated_at <> created_at';

/**
 * Frees the jobs `poolIds` hold, so that they run again; returns how many were dropped instead. A job that a
 * newer job of its key replaced while the pool held it (add_jobs takes its key, uses up its tries and stamps
 * updated_at, so that only the newer one runs: a coalesced staff notice, a timer set again) may not run again
 * and failed at nothing; unlocked, it would stand in the queue as failed for good. It is dropped. It is told from
 * a job whose tries were all used up by crashes of its workers by its stamp: nothing else touches a job that
 * has no error and no key (a fetch and an unlock do not), so that one still has the `updated_at` it was created
 * with, and stays. The stamp is the replacing statement's `now()`, its start, which may come before the lock
 * when the statement waited for the locking one (a burst's batch write): so "touched since created", not
 * "touched since locked" (the soak's kill -9 left 3 such jobs with the latter). In one transaction with the
 * unlock, the rows held: a key given meanwhile finds its job unlocked and replaces it in place (dropped in one
 * statement and unlocked in the next, one slipped between them).
 */
export async function releaseJobsOfPools(pool: pg.Pool, poolIds: readonly string[]): Promise<number> {
  return inPgTransaction(pool, async (client) => {
    await client.query(
      'select 1 from graphile_worker._private_jobs where locked_at is not null and locked_by = any($1::text[]) order by id for update',
      [poolIds],
    );
    const dropped = await client.query(
      `delete from graphile_worker._private_jobs
        where locked_at is not null and locked_by = any($1::text[])
          and ${REPLACED_JOB}`,
      [poolIds],
    );
    await client.query('select graphile_worker.force_unlock_workers($1::text[])', [poolIds]);
    return dropped.rowCount ?? 0;
  });
}
