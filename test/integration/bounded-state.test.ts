import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { MAX_TEXTS_PER_REPLY } from '../../src/db/messages.repository.js';
import { createActivities } from '../../src/adapters/activities.js';
import { createServiceClients } from '../../src/adapters/clients/index.js';
import type { DraftRequest, Drafter } from '../../src/adapters/drafting/drafter.js';
import { createRulesDrafter } from '../../src/adapters/drafting/rules.drafter.js';
import { createLogger } from '../../src/logger.js';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { queuedJobs } from '../helpers/jobs.js';

/**
 * A conversation's stored state is bounded whatever the debtor sends (issue 8): texts live in the messages
 * table, the snapshot counts them, and the drafter reads the newest ones there at draft time.
 */

/** The fixed bound the stored snapshot must stay under, in bytes of its JSON. */
const SNAPSHOT_BOUND_BYTES = 8 * 1024;
const PHONE = '+15551230042';

let testDb: TestDatabase;
let simulators: RunningSimulators;
let runtime: Runtime;
let activities: ReturnType<typeof createActivities>;
/** What the drafter was asked, the last time it ran. */
let lastRequest: DraftRequest | undefined;

beforeAll(async () => {
  testDb = await createTestDatabase();
  const logger = createLogger({ level: 'silent' });
  simulators = await startSimulators({ basePort: 0, logger });
  const clients = createServiceClients({ urls: simulators.urls, timeoutMs: 1_000, token: () => 'test-token', logger });
  const rules = createRulesDrafter();
  const drafter: Drafter = {
    name: 'rules',
    draft: (request, signal) => {
      lastRequest = request;
      return rules.draft(request, signal);
    },
  };
  runtime = testRuntime(testDb.db);
  activities = createActivities({ db: testDb.db, services: clients.services, drafter, logger, managersRecipient: 'managers', identityCheck: 'off' });
});
afterAll(async () => {
  await simulators.close();
  await testDb.drop();
});

const inbound = (conversationId: string, text: string, key: string) =>
  runtime.apply({
    conversationId,
    event: { type: 'sms.received', text, messageId: key, at: new Date().toISOString() },
    idempotencyKey: key,
    actor: 'service:test',
    create: { conversationId, tenantId: 'tenant-0042', phone: PHONE },
    ifNotAccepted: 'record',
  });

async function storedSnapshotBytes(conversationId: string) {
  const row = await sql<{ bytes: number }>`select octet_length(snapshot::text) as bytes from conversations where id = ${conversationId}`.execute(testDb.db);
  return Number(row.rows[0]!.bytes);
}

/** Runs the drafting activity with the conversation's newest draftReply job, as a worker would. */
async function draftWithNewestJob(conversationId: string) {
  const job = (await queuedJobs(testDb.db, conversationId, 'invoke')).filter((j) => j.payload.src === 'draftReply').at(-1)!;
  lastRequest = undefined;
  await activities.draftReply(job.payload.input, { signal: new AbortController().signal, keepDraft: () => {} });
  return { job, request: lastRequest! };
}

/** Long texts, short ones, and ones of two-byte and four-byte characters, in turn. */
function textNumber(index: number) {
  switch (index % 4) {
    case 0:
      return `${'I cannot pay this month. '.repeat(79)}#${index}`; // ~2,000 characters, the most the API takes
    case 1:
      return `hello? #${index}`;
    case 2:
      return `${'¿Puedo pagar después? '.repeat(80)}#${index}`;
    default:
      return `${'🙂'.repeat(400)} #${index}`;
  }
}

describe('bounded state', () => {
  it('when the debtor sends 450 texts, long ones among them, then the stored snapshot stays under 8 kB and the draft reads the newest texts', async () => {
    const id = 'c-flood';
    const sizes: number[] = [];
    const sent: string[] = [];
    for (let index = 0; index < 450; index += 1) {
      const text = textNumber(index);
      sent.push(text);
      await inbound(id, text, `flood-${index}`);
      if (index % 50 === 0 || index === 449) sizes.push(await storedSnapshotBytes(id));
    }
    for (const size of sizes) expect(size).toBeLessThan(SNAPSHOT_BOUND_BYTES);
    // Flat, not merely small: the 450th text costs the snapshot what the 2nd did (a few digits of the count).
    expect(Math.max(...sizes) - sizes[1]!).toBeLessThan(16);

    const { job, request } = await draftWithNewestJob(id);
    expect(job.payload.input).toMatchObject({ unansweredCount: 450 });
    expect(JSON.stringify(job.payload).length).toBeLessThan(1_024);
    expect(request.unanswered.map((message) => message.text)).toEqual(sent.slice(-MAX_TEXTS_PER_REPLY));
    expect(request.unanswered.map((message) => message.messageId)).toEqual(sent.slice(-MAX_TEXTS_PER_REPLY).map((_, i) => `flood-${450 - MAX_TEXTS_PER_REPLY + i}`));
  });

  it('when a reply went out, then the next draft reads only what the debtor said after it', async () => {
    const id = 'c-turns';
    await inbound(id, 'first question', 'turns-1');
    await inbound(id, 'second question', 'turns-2');
    const { job } = await draftWithNewestJob(id);
    // The drafter's answer as the worker feeds it back: auto-sent, which answers both texts.
    await runtime.apply({
      conversationId: id,
      event: { type: 'xstate.done.actor.drafter', output: { id: 'd-turns', text: 'Thanks. This is a debt collector. Reply STOP to opt out.', intents: ['question'], confidence: 0.95, drafter: 'rules', model: null, language: 'en', negotiation: null, reviewReason: null } },
      idempotencyKey: `result:${job.payload.token}`,
      actor: 'worker',
      origin: { kind: 'invoke', id: 'drafter', token: job.payload.token },
      ifNotAccepted: 'record',
    });
    const row = await testDb.db.selectFrom('conversations').select('snapshot').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.snapshot.context.unanswered).toEqual({ count: 0, latestAt: null });

    // The debtor writes while the reply is on its way; once it is sent, the machine drafts again.
    await inbound(id, 'a third one', 'turns-3');
    const sender = (await queuedJobs(testDb.db, id, 'invoke')).find((j) => j.payload.src === 'sendSms')!;
    const sentResult = await runtime.apply({
      conversationId: id,
      event: { type: 'xstate.done.actor.sender', output: { smsId: 'sms-turns' } },
      idempotencyKey: `result:${sender.payload.token}`,
      actor: 'worker',
      origin: { kind: 'invoke', id: 'sender', token: sender.payload.token },
      ifNotAccepted: 'record',
    });
    expect(sentResult.state).toBe('drafting');
    const { request } = await draftWithNewestJob(id);
    expect(request.unanswered.map((message) => message.text)).toEqual(['a third one']);
  });

  it('when a drafting job was queued by an earlier release with the texts in its payload, then it drafts from the messages table', async () => {
    const id = 'c-old-job';
    await inbound(id, 'I lost my job', 'old-job-1');
    const { conversationId, tenantId, phone } = { conversationId: id, tenantId: 'tenant-0042', phone: PHONE };
    const earlierPayload = { conversationId, tenantId, phone, unanswered: [{ text: 'I lost my job', at: new Date().toISOString(), messageId: 'old-job-1' }], offeredPlan: null, plan: null };
    lastRequest = undefined;
    await activities.draftReply(earlierPayload as never, { signal: new AbortController().signal, keepDraft: () => {} });
    expect(lastRequest!.unanswered.map((message) => message.text)).toEqual(['I lost my job']);
  });
});
