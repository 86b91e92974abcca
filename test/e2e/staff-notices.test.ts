import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startOrchestrator, type Orchestrator } from '../../src/composition.js';
import { createLogger } from '../../src/logger.js';
import { JOB_PRIORITY } from '../../src/runtime/job-queue.js';
import { queuedJobs } from '../helpers/jobs.js';
import { postText } from '../helpers/texts.js';
import { startTestOrchestrator, testConfig, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Staff notices against debtors' turns. The notices of texts to escalated conversations once ran before every
 * draft: under a steady flood of such texts no debtor was answered until it stopped. Notices now run after the
 * drafts, and a conversation's "the debtor wrote" that is still waiting takes in the texts after it.
 *
 * The service here takes events with no worker; a worker process is started once the queue holds the case.
 */
let api: TestOrchestrator;
const workers: Orchestrator[] = [];
beforeAll(async () => {
  api = await startTestOrchestrator({}, { worker: false });
});
afterAll(async () => {
  for (const worker of workers) await worker.close();
  await api.stop();
});

const manager = () => ({ Authorization: `Bearer ${api.token('manager')}` });
const notifications = () => api.orchestrator.simulators!.notifications.received;

async function text(conversationId: string, phone: string, key: string) {
  expect(await postText(api.url, { key, phone, conversationId })).toBe(202);
}

/** A conversation a person owns: created by a first text, then escalated by a manager. */
async function escalated(conversationId: string, phone: string) {
  await text(conversationId, phone, `${conversationId}-first`);
  await request(api.url)
    .post(`/v1/conversations/${conversationId}/events`)
    .set(manager())
    .set('Idempotency-Key', `${conversationId}-escalate`)
    .send({ type: 'staff.escalate', reason: 'a person owns this conversation' })
    .expect(202);
}

/** A worker process on the same database and the API's simulators (one job at a time: the order is the queue's). */
async function startWorker() {
  const urls = api.orchestrator.simulators!.urls;
  const config = testConfig({
    DATABASE_URL: api.testDb.url,
    COLLECTIONS_MONITOR_URL: urls.collectionsMonitor,
    SMS_AGENT_URL: urls.smsAgent,
    NOTIFICATION_SERVICE_URL: urls.notificationService,
    WORKER_CONCURRENCY: '1',
  });
  const worker = await startOrchestrator(config, createLogger({ level: 'silent' }), { http: false, worker: true });
  workers.push(worker);
  return worker;
}

const debtorWrote = (conversationId: string) =>
  notifications().filter((notice) => notice.metadata?.conversation_id === conversationId && notice.metadata?.kind === 'inbound_while_escalated');

describe('staff notices and debtors waiting for an answer', () => {
  it('when texts to escalated conversations back up the queue, then a debtor is answered before their notices go out, and each goes out once', async () => {
    const owned = Array.from({ length: 12 }, (_, i) => ({ id: `conv-owned-${i}`, phone: `+1555014${String(1_000 + i)}` }));
    for (const conversation of owned) await escalated(conversation.id, conversation.phone);
    for (const conversation of owned) await text(conversation.id, conversation.phone, `${conversation.id}-again`);
    await text('conv-waiting', '+15550149999', 'conv-waiting-1');

    // Queued after the notices, the debtor's draft still ranks ahead of them.
    const [draft] = await queuedJobs(api.orchestrator.db, 'conv-waiting', 'invoke');
    const notices = (await Promise.all(owned.map((conversation) => queuedJobs(api.orchestrator.db, conversation.id, 'effect')))).flat();
    expect(notices).toHaveLength(24); // each: escalated, then the debtor wrote
    expect(notices.every((notice) => notice.priority === JOB_PRIORITY.informStaff)).toBe(true);
    expect(draft!.priority).toBeLessThan(JOB_PRIORITY.informStaff);

    await startWorker();
    await waitForState(api.orchestrator, 'conv-waiting', ['awaitingReply']);
    const reply = api.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === '+15550149999');
    expect(reply).toHaveLength(1);

    await waitFor(() => owned.every((conversation) => debtorWrote(conversation.id).length === 1), 30_000, 'every notice');
    const noticeTimes = owned.flatMap((conversation) => debtorWrote(conversation.id).map((notice) => Date.parse(notice.received_at)));
    expect(Math.min(...noticeTimes)).toBeGreaterThanOrEqual(reply[0]!.receivedAtMs);
    expect(owned.map((conversation) => debtorWrote(conversation.id).length)).toEqual(owned.map(() => 1));
  });

  it('when a debtor writes several times while the notice of the first text waits, then staff are told once; a text after it went out is told again', async () => {
    for (const worker of workers.splice(0)) await worker.close();
    await escalated('conv-chatty', '+15550148888');
    for (const n of [1, 2, 3, 4, 5]) await text('conv-chatty', '+15550148888', `conv-chatty-${n}`);

    const waiting = (await queuedJobs(api.orchestrator.db, 'conv-chatty', 'effect')).filter((job) => job.payload.params.kind === 'inbound_while_escalated');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ key: 'notice:conv-chatty:inbound_while_escalated', priority: JOB_PRIORITY.informStaff });

    await startWorker();
    await waitFor(() => debtorWrote('conv-chatty').length === 1, 15_000, 'the notice');
    // Its job is done and gone: the next text is news again.
    await waitFor(async () => (await queuedJobs(api.orchestrator.db, 'conv-chatty', 'effect')).length === 0, 15_000, 'the queue to empty');
    await text('conv-chatty', '+15550148888', 'conv-chatty-6');
    await waitFor(() => debtorWrote('conv-chatty').length === 2, 15_000, 'the second notice');
    expect(notifications().filter((notice) => notice.metadata?.conversation_id === 'conv-chatty').map((notice) => notice.metadata?.kind)).toEqual([
      'escalated',
      'inbound_while_escalated',
      'inbound_while_escalated',
    ]);
  });
});
