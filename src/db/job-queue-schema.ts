import { Logger as GraphileLogger, runMigrations } from 'graphile-worker';
import type pg from 'pg';
import { AppError } from '../errors.js';
import { inPgTransaction } from './database.js';

/**
 * The job queue's schema: graphile-worker's own tables and our quiet `add_jobs`, installed with the
 * database's (migrate.ts) and granted to the service role (app-role.ts). The runtime writes jobs through
 * it (src/runtime/job-queue.ts); it lives here so that the database layer needs nothing above it.
 */

export async function installJobQueue(pool: pg.Pool) {
  await runMigrations({ pgPool: pool, logger: silentGraphileLogger });
  await installQueueHelpers(pool);
}

/**
 * Locked jobs, found without reading every job: our dead-worker sweep (src/runtime/worker.ts
 * releaseJobsOfDeadWorkers, every WORKER_SWEEP_INTERVAL; its statements in job-queue.repository.ts) and graphile-worker's own stale-lock reset (at start and
 * every few minutes) both look for jobs locked before a moment (`locked_at < …`), and graphile-worker has no
 * index for it. The table holds a timer job for most resting conversations (900,000 at 10^6 conversations), so
 * each of them read the whole table. A partial index holds only the few locked rows (a lock sets `locked_at`
 * and `locked_by` together). Made at every start, like the quiet add_jobs, so a library upgrade that rebuilds
 * the table gets it back.
 */
export const LOCKED_JOBS_INDEX = 'orchestrator_locked_jobs_idx';

/**
 * graphile-worker's `add_jobs` ends with `pg_notify('jobs:insert')`, and a transaction that notified holds a
 * database-wide lock from its commit's start to its end (WAL flush included): every event that wrote a
 * job committed one at a time (docs/benchmarks.md, "Where the time goes"). Events write their jobs through
 * `add_jobs_quietly`, the same function with the notification taken out, derived from graphile-worker's own
 * definition at every start (so it follows the library's upgrades), and the workers are told after commit
 * (jobAnnouncer). If the definition no longer has exactly the notification we know, the quiet function
 * simply calls `add_jobs` (notifying, as before) rather than guess.
 */
export const QUIET_ADD_JOBS = 'add_jobs_quietly';
/**
 * Our functions' schema: not `public`, which Supabase's REST API serves as RPCs to `anon` (migration
 * 202612049001_api_roles). Only the owner and the service role (src/db/app-role.ts) may use it.
 */
export const HELPER_SCHEMA = 'orchestrator';
/** Its signature, for grants (src/db/app-role.ts). */
export const QUIET_ADD_JOBS_FUNCTION = `${HELPER_SCHEMA}.${QUIET_ADD_JOBS}(graphile_worker.job_spec[], boolean)`;

async function installQueueHelpers(pool: pg.Pool) {
  await inPgTransaction(pool, async (client) => {
    const { rows } = await client.query<{ definition: string; owner: boolean }>(
      `select pg_get_functiondef(p.oid) as definition, pg_has_role(current_user, p.proowner, 'usage') as owner
         from pg_proc p where p.oid = 'graphile_worker.add_jobs(graphile_worker.job_spec[], boolean)'::regprocedure`,
    );
    if (rows[0]!.owner) {
      await client.query(quietAddJobsDefinition(rows[0]!.definition));
      await client.query(`revoke all on function ${QUIET_ADD_JOBS_FUNCTION} from public`);
      // Where versions before the helper schema installed it: a REST RPC on Supabase.
      await client.query(`drop function if exists public.${QUIET_ADD_JOBS}(graphile_worker.job_spec[], boolean)`);
      await client.query(`create index if not exists ${LOCKED_JOBS_INDEX} on graphile_worker._private_jobs (locked_at) where locked_at is not null`);
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

export const silentGraphileLogger = new GraphileLogger(() => () => {});
