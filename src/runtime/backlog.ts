import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { pendingApprovals } from '../db/drafts.repository.js';
import type { Backlog } from './observers.js';
import { TASKS } from './job-queue.js';

/**
 * What waits in the database, for the scrape-time gauges: jobs by task and state, and the approval queue.
 * Two aggregate queries (run side by side), never one per event: the event path stays free of metrics I/O.
 * graphile-worker's own tables are read (as `releaseJobsOfDeadWorkers` does): the `jobs` view adds nothing we use.
 */
export async function readBacklog(db: Db): Promise<Backlog> {
  const [jobs, approvals] = await Promise.all([
    sql<{ task: string; ready: number; waiting: number; running: number; failed: number; oldest_ready_age_seconds: number }>`
      select t.identifier as task,
        count(*) filter (where j.is_available and j.run_at <= now())::int as ready,
        count(*) filter (where j.is_available and j.run_at > now())::int as waiting,
        count(*) filter (where j.locked_at is not null)::int as running,
        count(*) filter (where j.locked_at is null and j.attempts >= j.max_attempts)::int as failed,
        coalesce(extract(epoch from now() - min(j.run_at) filter (where j.is_available and j.run_at <= now())), 0)::float8
          as oldest_ready_age_seconds
      from graphile_worker._private_jobs j
      join graphile_worker._private_tasks t on t.id = j.task_id
      group by t.identifier`.execute(db),
    pendingApprovals(db),
  ]);
  // Every task of ours is reported, with zeros when it has no jobs, so its series never vanish.
  const byTask = new Map(jobs.rows.map((row) => [row.task, row]));
  const tasks = new Set<string>([...Object.values(TASKS), ...byTask.keys()]);
  return {
    jobs: [...tasks].map((task) => {
      const row = byTask.get(task);
      return {
        task,
        ready: row?.ready ?? 0,
        waiting: row?.waiting ?? 0,
        running: row?.running ?? 0,
        failed: row?.failed ?? 0,
        oldestReadyAgeSeconds: row?.oldest_ready_age_seconds ?? 0,
      };
    }),
    approvals: { pending: approvals.pending, oldestAgeSeconds: approvals.oldestAgeSeconds },
  };
}
