import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import request from 'supertest';
import { signToken } from '../../src/http/auth.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { spawnService, type ChildService } from '../helpers/child-process.js';
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

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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
  it('when the worker is killed while a send is in flight, then a new worker finishes it and the debtor gets the text once', async () => {
    const port = await freePort();
    const api = start('src/main.ts', { PORT: String(port), RUN_WORKER: '0' });
    await api.waitForLog('orchestrator listening');
    let worker = start('src/worker-main.ts');
    await worker.waitForLog('worker started');

    // The SMS Agent stores the text at once but answers only after 5 s: the send is in flight.
    simulators.sms.setResponseDelay(5_000);
    await postInbound(port, 'crash-msg-1', { tenant_id: 'tenant-crash', phone_number: '+15550199001', content: 'Hi, what is my balance?', conversation_id: 'conv-crash-1' });
    await waitFor(() => simulators.sms.sent.some((sms) => sms.to === '+15550199001'), 20_000, 'the send to reach the SMS Agent');
    expect(await state('conv-crash-1')).toBe('sending.handingOff');

    await worker.kill('SIGKILL');
    simulators.sms.setResponseDelay(0);
    worker = start('src/worker-main.ts');
    await worker.waitForLog('worker started');

    await waitForState(testDb, 'conv-crash-1', ['awaitingReply'], 30_000);
    expect(simulators.sms.sent.filter((sms) => sms.to === '+15550199001')).toHaveLength(1);
    const outbound = await testDb.db.selectFrom('outbound_messages').selectAll().where('conversation_id', '=', 'conv-crash-1').execute();
    // The second attempt found the first one's text at the SMS Agent instead of sending again.
    expect(outbound).toMatchObject([{ status: 'accepted', attempts: 1 }]);
    const trail = await testDb.db.selectFrom('transitions').select('to_state').where('conversation_id', '=', 'conv-crash-1').orderBy('seq').execute();
    expect(trail.map((row) => row.to_state)).toEqual(['idle', 'drafting', 'sending.handingOff', 'sent', 'awaitingReply']);

    await worker.kill('SIGTERM');
    await api.kill('SIGTERM');
  }, 90_000);

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
