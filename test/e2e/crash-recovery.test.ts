import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { signToken } from '../../src/http/auth.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { freePort, spawnService, type ChildService } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_JWT_SECRET, waitFor, waitForState } from '../helpers/orchestrator.js';

/**
 * Real processes, killed for real (SIGKILL): the worker in the middle of a send, and the whole service
 * while a timer waits. The simulators run in this process so that they outlive the kills.
 */

let testDb: TestDatabase;
let simulators: RunningSimulators;
const children: ChildService[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  simulators = await startSimulators({ basePort: 0, logger: createLogger({ level: 'silent' }) });
});
afterAll(async () => {
  await Promise.all(children.map((child) => child.kill()));
  await simulators.close();
  await testDb.drop();
});

function env(extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: testDb.url,
    JWT_SECRET: TEST_JWT_SECRET,
    COLLECTIONS_MONITOR_URL: simulators.urls.collectionsMonitor,
    SMS_AGENT_URL: simulators.urls.smsAgent,
    NOTIFICATION_SERVICE_URL: simulators.urls.notificationService,
    WORKER_CONCURRENCY: '1',
    WORKER_SWEEP_INTERVAL: '1s',
    ...extra,
  };
}

function start(entry: string, extra: Record<string, string> = {}) {
  const child = spawnService(entry, env(extra));
  children.push(child);
  return child;
}

async function state(conversationId: string) {
  const row = await testDb.db.selectFrom('conversations').select('state').where('id', '=', conversationId).executeTakeFirst();
  return row?.state;
}

const serviceToken = signToken(TEST_JWT_SECRET, 'service', 'sms-agent');

/** The SMS Agent's call, to a service running as a child process. */
async function postInbound(port: number, key: string, body: Record<string, string>) {
  await request(`http://127.0.0.1:${port}`)
    .post('/orchestrate/sms-received')
    .set('Authorization', `Bearer ${serviceToken}`)
    .set('Idempotency-Key', key)
    .send(body)
    .expect(202);
}

describe('crash recovery', () => {
  /**
   * One turn (inbound text → draft → send → awaitingReply), the worker killed at one of its job boundaries per
   * run. A boundary is held open by a simulator that answers late (in this process, so it outlives the kill).
   */
  const boundaries = [
    {
      boundary: 'the drafter job waits on the Collections Monitor (tenant read)',
      hold: () => simulators.monitor.setResponseDelay(5_000),
      reached: (_phone: string, tenant: string) => simulators.monitor.lookups.includes(tenant),
      state: 'drafting',
    },
    {
      boundary: 'the sender job waits on the SMS Agent, the text stored there (send in flight)',
      hold: () => simulators.sms.setFault({ mode: 'timeout_after_receive' }),
      reached: (phone: string) => simulators.sms.sent.some((sms) => sms.to === phone),
      state: 'sending.handingOff',
    },
  ];

  describe('the worker killed at each job boundary of one turn (one API process for all)', () => {
    let port = 0;
    let api: ChildService;
    beforeAll(async () => {
      port = await freePort();
      api = start('src/main.ts', { PORT: String(port), RUN_WORKER: '0' });
      await api.waitForLog('orchestrator listening');
    }, 60_000);
    afterAll(() => api.kill('SIGTERM'));

    it.each(boundaries.map((row, i) => ({ ...row, i })))(
      'when the worker is killed while $boundary, then a new worker finishes the turn: no loss, no double',
      async ({ hold, reached, state: heldState, i }) => {
        simulators.reset();
        const conversationId = `conv-crash-${i}`;
        const phone = `+1555019910${i}`;
        const tenant = `tenant-crash-${i}`;
        let worker = start('src/worker-main.ts');
        try {
          await worker.waitForLog('worker started', 45_000); // a loaded machine (the full suite) starts processes slowly

          hold();
          await postInbound(port, `crash-msg-${i}`, { tenant_id: tenant, phone_number: phone, content: 'Hi, what is my balance?', conversation_id: conversationId });
          await waitFor(() => reached(phone, tenant), 20_000, 'the boundary');
          expect(await state(conversationId)).toBe(heldState);

          await worker.kill('SIGKILL');
          // Answers on time again; what the simulators stored (the text sent, its history) stays.
          simulators.monitor.setResponseDelay(0);
          simulators.sms.setResponseDelay(0);
          simulators.sms.setFault(null);
          worker = start('src/worker-main.ts');
          await worker.waitForLog('worker started', 45_000); // a loaded machine (the full suite) starts processes slowly

          await waitForState(testDb, conversationId, ['awaitingReply'], 30_000);
          expect(simulators.sms.arrivals.filter((sms) => sms.to === phone)).toHaveLength(1);
          expect(simulators.sms.sent.filter((sms) => sms.to === phone)).toHaveLength(1);
          const outbound = await testDb.db.selectFrom('outbound_messages').selectAll().where('conversation_id', '=', conversationId).execute();
          // Killed mid-send, the next attempt found the first one's text at the SMS Agent instead of sending again.
          expect(outbound).toMatchObject([{ status: 'accepted', attempts: 1 }]);
          const trail = await testDb.db.selectFrom('transitions').select('to_state').where('conversation_id', '=', conversationId).orderBy('seq').execute();
          expect(trail.map((row) => row.to_state)).toEqual(['idle', 'drafting', 'sending.handingOff', 'sent', 'awaitingReply']);
        } finally {
          await worker.kill('SIGTERM');
        }
      },
      150_000,
    );
  });

  it('when the whole service is killed while a conversation waits on a timer, then after restart the timer still fires', async () => {
    const port = await freePort();
    const timers = { NO_REPLY_TIMEOUT: '6s', PORT: String(port) };
    let service = start('src/main.ts', timers);
    await service.waitForLog('orchestrator listening');
    await postInbound(port, 'timer-msg-1', { tenant_id: 'tenant-timer', phone_number: '+15550199002', content: 'Hello, can you call me?', conversation_id: 'conv-timer-1' });
    await waitForState(testDb, 'conv-timer-1', ['awaitingReply'], 20_000);

    await service.kill('SIGKILL');
    const killedAt = Date.now();
    service = start('src/main.ts', timers);
    await service.waitForLog('orchestrator listening');

    await waitForState(testDb, 'conv-timer-1', ['escalated'], 30_000);
    const fired = await testDb.db
      .selectFrom('transitions')
      .selectAll()
      .where('conversation_id', '=', 'conv-timer-1')
      .where('event_type', '=', 'timer.no_reply')
      .executeTakeFirstOrThrow();
    expect(new Date(fired.at).getTime()).toBeGreaterThan(killedAt);
    expect(fired).toMatchObject({ from_state: 'awaitingReply', to_state: 'escalated', actor: 'timer' });
    const escalation = await testDb.db.selectFrom('escalations').selectAll().where('conversation_id', '=', 'conv-timer-1').executeTakeFirstOrThrow();
    expect(escalation.reason).toBe('no_response');
    await service.kill('SIGTERM');
  }, 90_000);
});
