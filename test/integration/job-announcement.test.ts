import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { EventEnvelope } from '../../src/runtime/apply-event.js';
import { jobAnnouncer, quietAddJobsDefinition } from '../../src/runtime/job-queue.js';
import { LOCKED_JOBS_INDEX } from '../../src/db/job-queue-schema.js';
import { createLogger } from '../../src/logger.js';
import { releaseJobsOfDeadWorkers } from '../../src/runtime/worker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { plansOf } from '../helpers/plans.js';
import { testRuntime } from '../helpers/runtime.js';

/**
 * Events write their jobs with `add_jobs_quietly` (graphile-worker's add_jobs without its NOTIFY, whose
 * database-wide lock made every committing event wait for the previous one) and the workers are told after
 * commit, by one NOTIFY per process at a time (jobAnnouncer).
 */

let testDb: TestDatabase;
let listener: pg.Client;
const heard: Array<{ count: number }> = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  listener = new pg.Client({ connectionString: testDb.url });
  await listener.connect();
  listener.on('notification', (message) => {
    if (message.channel === 'jobs:insert') heard.push(JSON.parse(message.payload ?? '{}'));
  });
  await listener.query('LISTEN "jobs:insert"');
});
afterAll(async () => {
  await listener.end();
  await testDb.drop();
});

const inbound = (conversationId: string, key: string): EventEnvelope => ({
  conversationId,
  event: { type: 'sms.received', text: 'hello', messageId: key, at: new Date().toISOString() },
  idempotencyKey: key,
  actor: 'service:sms-agent',
  create: { conversationId, tenantId: 'tenant-1', phone: '+15550001111' },
  ifNotAccepted: 'record',
});

/** Notifications arrive on another connection after commit: round trips on the listener let them in. */
async function settle() {
  await listener.query('select 1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await listener.query('select 1');
}

/** Until `count` jobs were announced (the announcer sends its next NOTIFY when the previous one is done), or 5 s. */
async function heardJobs(count: number) {
  const deadline = Date.now() + 5_000;
  const total = () => heard.reduce((sum, message) => sum + message.count, 0);
  while (total() < count && Date.now() < deadline) await settle();
  return total();
}

describe('jobs written by events', () => {
  it('when installed, then add_jobs_quietly is graphile-worker’s add_jobs without the notification', async () => {
    const { rows } = await testDb.pool.query<{ original: string; quiet: string }>(`
      select pg_get_functiondef('graphile_worker.add_jobs(graphile_worker.job_spec[], boolean)'::regprocedure) as original,
             pg_get_functiondef('orchestrator.add_jobs_quietly(graphile_worker.job_spec[], boolean)'::regprocedure) as quiet`);
    const { original, quiet } = rows[0]!;
    expect(original).toContain("pg_notify('jobs:insert'");
    expect(quiet).not.toContain('pg_notify');
    const lines = (text: string) => text.split('\n').filter((line) => !line.includes('pg_notify'));
    expect(lines(quiet)).toEqual(lines(original).map((line) => line.replace('FUNCTION graphile_worker.add_jobs(', 'FUNCTION orchestrator.add_jobs_quietly(')));
  });

  it('when an event writes a job, then its statement announces nothing; the announcer tells the workers after commit, with the count', async () => {
    heard.length = 0;
    await testRuntime(testDb.db).apply(inbound('c-quiet', 'quiet-1'));
    await settle();
    expect(heard).toEqual([]);
    const [queued] = (await testDb.pool.query(`select count(*)::int as n from graphile_worker._private_jobs where payload->>'conversationId' = 'c-quiet'`)).rows;
    expect(queued.n).toBe(1);

    const announced = testRuntime(testDb.db, { onJobsWritten: jobAnnouncer(testDb.pool, (error) => { throw error; }) });
    await Promise.all([announced.apply(inbound('c-told-1', 'told-1')), announced.apply(inbound('c-told-2', 'told-2'))]);
    // One NOTIFY at a time: the second event's job is in the first announcement or in the one that follows it.
    expect(await heardJobs(2)).toBe(2);
    await settle();
    expect(heard.reduce((sum, message) => sum + message.count, 0)).toBe(2);
    expect(heard.length).toBeLessThanOrEqual(2);
  });

  it('when graphile-worker’s add_jobs no longer looks as expected, then the quiet function calls it (notifying) rather than guess', () => {
    const known = 'CREATE OR REPLACE FUNCTION graphile_worker.add_jobs(specs x)\nAS $f$\nbegin\n  perform pg_notify(\'jobs:insert\', \'{}\');\n  return query select 1;\nend $f$';
    expect(quietAddJobsDefinition(known)).toBe('CREATE OR REPLACE FUNCTION orchestrator.add_jobs_quietly(specs x)\nAS $f$\nbegin\n  return query select 1;\nend $f$');
    for (const changed of [known.replace(/\n.*pg_notify.*/, ''), known.replace('return query', "perform pg_notify('jobs:insert', '');\n  return query")]) {
      expect(quietAddJobsDefinition(changed)).toMatch(/language sql as \$\$ select \* from graphile_worker\.add_jobs\(specs, job_key_preserve_run_at\) \$\$/);
    }
  });
});

describe('the dead-worker sweep', () => {
  it('when a dead pool held a job that a newer job of its key replaced, then the sweep drops it and frees the rest; a job that failed or crashed for good stays', async () => {
    const add = (identifier: string, key: string | null, payload: object) =>
      testDb.pool.query(`select graphile_worker.add_jobs(array[row($1, $2::json, null, now(), 8, $3, 20, null)::graphile_worker.job_spec])`, [identifier, JSON.stringify(payload), key]);
    await add('effect', 'notice:c-dead:inbound_while_escalated', { n: 'held' });
    await add('timer', 'timer:c-dead:noReply', { n: 'held, replaced by a statement begun before the lock' });
    await add('effect', null, { n: 'ordinary' });
    await add('effect', null, { n: 'failed' });
    await add('invoke', null, { n: 'crashed' });
    // The dead pool fetched all three (a fetch counts a try), the last at its final try after an error.
    await testDb.pool.query(`update graphile_worker._private_jobs set locked_by = 'dead-pool-1', locked_at = now() - interval '1 minute', attempts = 1
                              where payload->>'n' in ('held', 'ordinary') or key = 'timer:c-dead:noReply'`);
    await testDb.pool.query(`update graphile_worker._private_jobs set locked_by = 'dead-pool-1', locked_at = now() - interval '1 minute', attempts = 8, last_error = 'boom'
                              where payload->>'n' = 'failed'`);
    // One whose every try ended in a crash of its worker: no error on record, and no stamp since it was created
    // (a fetch and an unlock leave updated_at alone).
    await testDb.pool.query(`update graphile_worker._private_jobs set locked_by = 'dead-pool-1', locked_at = now() - interval '1 minute', attempts = 8
                              where payload->>'n' = 'crashed'`);
    // The debtor writes again: the held notice is replaced by a new one of its key; so is the timer, by a
    // statement that began before the dead pool locked it (it waited for the lock): its stamp is older than the lock.
    await add('effect', 'notice:c-dead:inbound_while_escalated', { n: 'newer' });
    await add('timer', 'timer:c-dead:noReply', { n: 'newer timer' });
    await testDb.pool.query(`update graphile_worker._private_jobs set updated_at = locked_at - interval '3 milliseconds'
                              where payload->>'n' = 'held, replaced by a statement begun before the lock'`);

    await releaseJobsOfDeadWorkers(testDb.pool, createLogger({ level: 'silent' }));
    const { rows } = await testDb.pool.query<{ n: string; key: string | null; attempts: number; locked_by: string | null }>(
      `select payload->>'n' as n, key, attempts, locked_by from graphile_worker._private_jobs where payload->>'n' is not null order by id`,
    );
    expect(rows).toEqual([
      { n: 'ordinary', key: null, attempts: 1, locked_by: null },
      { n: 'failed', key: null, attempts: 8, locked_by: null },
      { n: 'crashed', key: null, attempts: 8, locked_by: null },
      { n: 'newer', key: 'notice:c-dead:inbound_while_escalated', attempts: 0, locked_by: null },
      { n: 'newer timer', key: 'timer:c-dead:noReply', attempts: 0, locked_by: null },
    ]);
  });
});

describe('the dead-worker sweep at scale', () => {
  it('finds locked jobs through a partial index, not by reading every timer job: ours and graphile-worker\'s stale-lock reset', async () => {
    // One add_jobs call for all of them: add_job one at a time takes tens of seconds on a busy machine.
    await testDb.pool.query(
      `select graphile_worker.add_jobs(array(
         select row('timer', json_build_object('n', g), null, now() + interval '1 day', null, null, null, null)::graphile_worker.job_spec
           from generate_series(1, 10000) g))`,
    );
    await testDb.pool.query('analyze graphile_worker._private_jobs');
    const plans = await plansOf(testDb.url, async (pool) => {
      await releaseJobsOfDeadWorkers(pool, createLogger({ level: 'silent' }));
      // graphile-worker's own stale-lock reset (its resetLockedAt, at start and every few minutes).
      await pool.query(`update graphile_worker._private_jobs as jobs set locked_at = null, locked_by = null, run_at = greatest(run_at, now())
                         where locked_at < now() - interval '4 hours'`);
    });
    const sweeps = plans.filter((text) => text.includes('locked_at <'));
    expect(sweeps).toHaveLength(2);
    for (const plan of sweeps) {
      expect(plan).toContain(LOCKED_JOBS_INDEX);
      expect(plan).not.toContain('Seq Scan on _private_jobs');
    }
  });
});
