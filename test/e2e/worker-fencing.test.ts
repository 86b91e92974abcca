import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import request from 'supertest';
import { startTestOrchestrator, waitFor, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * A worker whose liveness session dies can no longer prove it lives; other workers will soon run its jobs.
 * It must stop on its own (and its entry point exits) instead of running them a second time, and until the
 * process is gone its readiness probe says so.
 */
let harness: TestOrchestrator;
const lost: Error[] = [];
beforeAll(async () => {
  harness = await startTestOrchestrator({}, { onLivenessLost: (error) => void lost.push(error) });
});
afterAll(() => harness.stop());

describe('worker fencing', () => {
  it('when the worker runs and polls, then the process is live and ready', async () => {
    await request(harness.url).get('/health/live').expect(200, { status: 'ok' });
    await request(harness.url).get('/health/ready').expect(200, { status: 'ready', database: 'up', worker: 'running' });
  });

  it('when the liveness session is killed, then the worker abandons its jobs, says so, and the process is no longer ready', async () => {
    const { rows } = await sql<{ pid: number }>`
      select pid from pg_stat_activity where application_name like 'orchestrator-worker:%' and datname = current_database()`.execute(
      harness.orchestrator.db,
    );
    expect(rows).toHaveLength(1);
    await sql`select pg_terminate_backend(${rows[0].pid})`.execute(harness.orchestrator.db);
    await waitFor(() => lost.length > 0, 10_000, 'the worker to notice');
    expect(lost[0]).toBeInstanceOf(Error);

    await request(harness.url).get('/health/ready').expect(503, { status: 'not_ready', database: 'up', worker: 'fenced' });
    // The process still answers (its entry point is about to exit), and /health, for the dashboard, is as it was.
    await request(harness.url).get('/health/live').expect(200);
    await request(harness.url).get('/health').expect(200);
  });
});

describe('a job runner that ends without being told to', () => {
  /**
   * graphile-worker shuts its pool down by itself after some errors, and reports some of them only in its
   * log (through a transaction pooler it was "prepared statement … already exists"). One such end anyone can
   * cause: a notice that its schema was migrated in a breaking way. The process must not stay up with no
   * worker: it is treated like a lost liveness session, and the worker still stops cleanly afterwards.
   */
  it('when graphile-worker ends its pool on its own, then the worker counts as lost, is not ready, and stops without hanging', async () => {
    const ended: Error[] = [];
    const alone = await startTestOrchestrator({}, { onLivenessLost: (error) => void ended.push(error) });
    const exitCode = process.exitCode;
    try {
      // graphile-worker's LISTEN connects a moment after the runner starts: say it until it is heard.
      await waitFor(
        async () => {
          if (ended.length > 0) return true;
          await sql`select pg_notify('worker:migrate', '{"migrationNumber": 999999, "breaking": true}')`.execute(alone.orchestrator.db);
          return false;
        },
        30_000,
        'the worker to count as lost',
      );
      expect(ended[0]!.message).toBe('the job runner ended on its own');
      await request(alone.url).get('/health/ready').expect(503, { status: 'not_ready', database: 'up', worker: 'fenced' });
    } finally {
      // graphile-worker sets the exit code 57 for that notice; this test process should not inherit it.
      process.exitCode = exitCode;
      await alone.stop();
    }
  }, 60_000);
});
