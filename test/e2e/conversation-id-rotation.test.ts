import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import request from 'supertest';
import { startOrchestrator, type Orchestrator } from '../../src/composition.js';
import { signToken } from '../../src/http/auth.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TEST_JWT_SECRET, testConfig, waitFor } from '../helpers/orchestrator.js';

/**
 * A conversation the SMS Agent does not name is the tenant's one for the number, whatever
 * CONVERSATION_ID_SECRET a process has (docs/architecture.md §2, "Which conversation"): rotating the secret,
 * or replicas that disagree on it, neither splits a debtor's thread nor answers a redelivered webhook twice.
 * Processes are in-process services on one database; the SMS Agent simulator outlives them all.
 */

const SECRET_A = 'rotation-test-secret-a-0123456789abcdef';
const SECRET_B = 'rotation-test-secret-b-0123456789abcdef';
const DEBTORS = 10;

let testDb: TestDatabase;
let simulators: RunningSimulators;
const running: Orchestrator[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  simulators = await startSimulators({ basePort: 0, logger: createLogger({ level: 'silent' }) });
});
afterAll(async () => {
  for (const orchestrator of running) await orchestrator.close();
  await simulators.close();
  await testDb.drop();
});

/** A service process (API and worker) on the shared database, keyed by `secret`. */
async function startProcess(secret: string): Promise<Orchestrator> {
  const config = testConfig({
    DATABASE_URL: testDb.url,
    CONVERSATION_ID_SECRET: secret,
    COLLECTIONS_MONITOR_URL: simulators.urls.collectionsMonitor,
    SMS_AGENT_URL: simulators.urls.smsAgent,
    NOTIFICATION_SERVICE_URL: simulators.urls.notificationService,
  });
  const orchestrator = await startOrchestrator(config, createLogger({ level: 'silent' }), { worker: true });
  running.push(orchestrator);
  return orchestrator;
}

async function stopProcess(orchestrator: Orchestrator) {
  running.splice(running.indexOf(orchestrator), 1);
  await orchestrator.close();
}

const serviceToken = signToken(TEST_JWT_SECRET, 'service', 'sms-agent');
const phoneOf = (tenant: string, n: number) => `+1555073${tenant === 'tenant-rotate' ? '0' : '1'}${String(n).padStart(3, '0')}`;

/** The SMS Agent's webhook, without a conversation id (the SMS Agent names none). */
function webhook(orchestrator: Orchestrator, tenant: string, n: number, messageId: string) {
  return request(orchestrator.url!)
    .post('/orchestrate/sms-received')
    .set('Authorization', `Bearer ${serviceToken}`)
    .send({ tenant_id: tenant, phone_number: phoneOf(tenant, n), content: 'Hi, what is my balance?', message_id: messageId });
}

async function conversationsOf(tenant: string) {
  return testDb.db.selectFrom('conversations').select(['id', 'phone']).where('tenant_id', '=', tenant).execute();
}

const textsTo = (tenant: string) => {
  const phones = new Set(Array.from({ length: DEBTORS }, (_, n) => phoneOf(tenant, n)));
  return simulators.sms.sent.filter((sms) => phones.has(sms.to));
};

/** Every debtor's latest text answered once: `expected` texts sent in all and nothing of the tenant's left to run now. */
async function settled(tenant: string, expected: number) {
  await waitFor(() => textsTo(tenant).length >= expected, 60_000, `${expected} texts to ${tenant}`);
  await waitFor(
    async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from graphile_worker._private_jobs j
          join conversations c on c.id = j.payload->>'conversationId'
         where c.tenant_id = ${tenant} and j.run_at <= now()`.execute(testDb.db);
      return rows[0]!.n === 0;
    },
    60_000,
    `no work due for ${tenant}`,
  );
  return { conversations: (await conversationsOf(tenant)).length, texts: textsTo(tenant).length };
}

describe('conversation ids across CONVERSATION_ID_SECRET', () => {
  it('when the service restarts with another secret and the SMS Agent redelivers every webhook, then no conversation and no text is new; new texts join the same threads', async () => {
    const tenant = 'tenant-rotate';
    const first = await startProcess(SECRET_A);
    const ids = await Promise.all(
      Array.from({ length: DEBTORS }, async (_, n) => (await webhook(first, tenant, n, `rotate-${n}`).expect(202)).body.conversation_id as string),
    );
    expect(await settled(tenant, DEBTORS)).toEqual({ conversations: DEBTORS, texts: DEBTORS });
    await stopProcess(first);

    const rotated = await startProcess(SECRET_B);
    const redelivered = await Promise.all(Array.from({ length: DEBTORS }, (_, n) => webhook(rotated, tenant, n, `rotate-${n}`)));
    // The same message, found on the same conversation: its first answer, nothing applied again.
    expect(redelivered.map((response) => [response.status, response.body.duplicate, response.body.conversation_id])).toEqual(
      ids.map((id) => [200, true, id]),
    );
    expect(await settled(tenant, DEBTORS)).toEqual({ conversations: DEBTORS, texts: DEBTORS });

    // A new text from each debtor goes to the thread they already have, and is answered once.
    const next = await Promise.all(Array.from({ length: DEBTORS }, (_, n) => webhook(rotated, tenant, n, `rotate-next-${n}`).expect(202)));
    expect(next.map((response) => response.body.conversation_id)).toEqual(ids);
    expect(await settled(tenant, 2 * DEBTORS)).toEqual({ conversations: DEBTORS, texts: 2 * DEBTORS });
    await stopProcess(rotated);
  }, 180_000);

  it('when two processes with different secrets take the same webhooks at once, then each debtor has one conversation and one reply', async () => {
    const tenant = 'tenant-replicas';
    const [a, b] = await Promise.all([startProcess(SECRET_A), startProcess(SECRET_B)]);
    const both = await Promise.all(
      Array.from({ length: DEBTORS }, (_, n) => Promise.all([webhook(a, tenant, n, `replica-${n}`), webhook(b, tenant, n, `replica-${n}`)])),
    );
    for (const [fromA, fromB] of both) {
      // One applied it (202), the other got its answer (200, duplicate) on the same conversation.
      expect([fromA.status, fromB.status].sort()).toEqual([200, 202]);
      expect(fromA.body.conversation_id).toBe(fromB.body.conversation_id);
    }
    expect(await settled(tenant, DEBTORS)).toEqual({ conversations: DEBTORS, texts: DEBTORS });

    // Then each debtor's next texts reach both processes in turn: still one conversation each.
    await Promise.all(Array.from({ length: DEBTORS }, (_, n) => webhook(n % 2 ? a : b, tenant, n, `replica-next-${n}`).expect(202)));
    expect(await settled(tenant, 2 * DEBTORS)).toEqual({ conversations: DEBTORS, texts: 2 * DEBTORS });
  }, 180_000);
});
