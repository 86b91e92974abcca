import type { Db } from '../db/database.js';
import { pendingApprovals } from '../db/drafts.repository.js';
import { jobCountsByTask } from '../db/job-queue.repository.js';
import type { Backlog } from './observers.js';
import { TASKS } from './job-queue.js';

/**
 * What waits in the database, for the scrape-time gauges: jobs by task and state, and the approval queue.
 * Two aggregate queries (run side by side), never one per event: the event path stays free of metrics I/O.
 */
export async function readBacklog(db: Db): Promise<Backlog> {
  const [jobs, approvals] = await Promise.all([jobCountsByTask(db), pendingApprovals(db)]);
  // Every task of ours is reported, with zeros when it has no jobs, so its series never vanish.
  const byTask = new Map(jobs.map((row) => [row.task, row]));
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
