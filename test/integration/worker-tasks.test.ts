import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { JobHelpers } from 'graphile-worker';
import { createActivities, createEffects } from '../../src/adapters/activities.js';
import { createRulesDrafter } from '../../src/adapters/drafting/rules.drafter.js';
import { DEFAULT_CONTACT_WINDOW } from '../../src/policies/contact-window.js';
import type { DraftRecord } from '../../src/db/drafts.repository.js';
import { createLogger } from '../../src/logger.js';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { verifyChains } from '../../src/runtime/audit-verify.js';
import { createTaskList, DEFAULT_INVOKE_ATTEMPTS } from '../../src/runtime/worker.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { simulatedTenant } from '../../src/simulators/collections-monitor.simulator.js';
import { testRuntime } from '../helpers/runtime.js';
import { testServiceClients } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { queuedJobs } from '../helpers/jobs.js';
import { countStatements } from '../../bench/lib/statement-count.js';

/**
 * The worker's tasks driven one job at a time (no runner), against real Postgres and the simulators: the
 * cases where a text must not go out, or must not go out twice.
 */

let testDb: TestDatabase;
let simulators: RunningSimulators;
let runtime: Runtime;
let tasks: ReturnType<typeof createTaskList>;
let activities: ReturnType<typeof createActivities>;
let effects: ReturnType<typeof createEffects>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  const logger = createLogger({ level: 'silent' });
  simulators = await startSimulators({ basePort: 0, logger });
  const clients = testServiceClients(simulators, logger);
  runtime = testRuntime(testDb.db);
  // Every hour a calling hour: the acknowledgements here are unsolicited texts, and the run must not depend on the hour.
  const contactWindow = { ...DEFAULT_CONTACT_WINDOW, startHour: 0, endHour: 24 };
  const deps = { db: testDb.db, services: clients.services, drafter: createRulesDrafter(), logger, managersRecipient: 'managers', contactWindow };
  activities = createActivities(deps);
  effects = createEffects(deps);
  tasks = createTaskList({ runtime, activities, effects, logger });
});
afterAll(async () => {
  await simulators.close();
  await testDb.drop();
});
beforeEach(() => simulators.reset());

/** What graphile-worker hands a task: the try's number, the abort signal, and adding a job (a real one, in the queue). */
const helpers = (attempts = 1) =>
  ({
    job: { attempts, max_attempts: 25 },
    abortSignal: new AbortController().signal,
    async addJob(identifier: string, payload: unknown, spec: { runAt?: Date; maxAttempts?: number; jobKey?: string; priority?: number } = {}) {
      await sql`select graphile_worker.add_job(${identifier}, ${JSON.stringify(payload)}::json, run_at => ${spec.runAt ?? new Date()},
        max_attempts => ${spec.maxAttempts ?? 25}, job_key => ${spec.jobKey ?? null}, priority => ${spec.priority ?? 0})`.execute(testDb.db);
    },
  }) as unknown as JobHelpers;

const pendingJobs = (conversationId: string, task: string) => queuedJobs(testDb.db, conversationId, task);

/** Runs the oldest job of that task for the conversation, as a worker would, then deletes it (completed). */
async function runNext(conversationId: string, task: 'invoke' | 'effect', attempts = 1, payloadPatch: Record<string, unknown> = {}, taskList = tasks) {
  const [job] = await pendingJobs(conversationId, task);
  if (!job) throw new Error(`no ${task} job for ${conversationId}`);
  try {
    await taskList[task]!({ ...job.payload, ...payloadPatch }, helpers(attempts));
  } finally {
    await sql`delete from graphile_worker._private_jobs where id = ${job.id}`.execute(testDb.db);
  }
  return job.payload;
}

async function state(conversationId: string) {
  return (await testDb.db.selectFrom('conversations').select('state').where('id', '=', conversationId).executeTakeFirstOrThrow()).state;
}

async function inbound(conversationId: string, text: string, phone: string, key: string) {
  await runtime.apply({
    conversationId,
    event: { type: 'sms.received', text, messageId: key, at: new Date().toISOString() },
    idempotencyKey: key,
    actor: 'service:test',
    create: { conversationId, tenantId: 'tenant-w', phone },
    ifNotAccepted: 'record',
  });
}

/**
 * The drafter's job up to its result: the activity, then the result applied as the job applies it (the send it
 * starts is the job's to run next, not queued). The job is then gone, as after a run that ended right there;
 * the send's payload comes back for the test to run as the job (or its retry) would.
 */
async function draftOnly(conversationId: string, { keepJob = false } = {}) {
  const [job] = await pendingJobs(conversationId, 'invoke');
  if (!job || job.payload.src !== 'draftReply') throw new Error(`no drafter job for ${conversationId}`);
  const { invokeId, token, input } = job.payload as { invokeId: string; token: string; input: Parameters<typeof activities.draftReply>[0] };
  const drafts: DraftRecord[] = [];
  const output = await activities.draftReply(input, { signal: new AbortController().signal, keepDraft: (draft) => drafts.push(draft) });
  const result = await runtime.apply({
    conversationId,
    event: { type: `xstate.done.actor.${invokeId}`, output },
    idempotencyKey: `result:${token}`,
    actor: 'worker',
    drafts,
    origin: { kind: 'invoke', id: invokeId, token },
    ifNotAccepted: 'record',
    runsStartedInvokes: true,
  });
  if (!keepJob) await sql`delete from graphile_worker._private_jobs where id = ${job.id}`.execute(testDb.db);
  return { job, send: result.started?.[0] };
}

const staff = (conversationId: string, type: 'staff.close' | 'retry', key: string) =>
  runtime.apply({ conversationId, event: { type, by: 'alice' }, idempotencyKey: key, actor: 'manager:alice', ifNotAccepted: 'reject' });

describe('worker tasks', () => {
  it('when a reply is sent on its own, then its draft and its send are one job, and no send job is queued', async () => {
    await inbound('w-one', 'Hi, what is my balance?', '+15550400010', 'w-one-1');
    await runNext('w-one', 'invoke');
    expect(await state('w-one')).toBe('awaitingReply');
    expect(simulators.sms.sent).toHaveLength(1);
    expect(await pendingJobs('w-one', 'invoke')).toEqual([]);
  });

  it('when the process that wrote the text runs its drafter, then memory says it is live, no read; a process that did not write it reads', async () => {
    const logger = createLogger({ level: 'silent' });
    const statements = countStatements();
    const livenessReads = () => statements.top(100).filter(([text]) => text.includes('prepared:live_tokens */')).reduce((sum, [, n]) => sum + n, 0);
    for (const [remembers, conversationId] of [[true, 'w-mem-yes'], [false, 'w-mem-no']] as const) {
      const own = testRuntime(testDb.db, remembers ? { rememberConversations: 10 } : {});
      const ownTasks = createTaskList({ runtime: own, activities, effects, logger });
      await own.apply({
        conversationId,
        event: { type: 'sms.received', text: 'Hi, what is my balance?', messageId: `${conversationId}-1`, at: new Date().toISOString() },
        idempotencyKey: `${conversationId}-1`,
        actor: 'service:test',
        create: { conversationId, tenantId: 'tenant-w', phone: remembers ? '+15550400021' : '+15550400022' },
        ifNotAccepted: 'record',
      });
      const [job] = await pendingJobs(conversationId, 'invoke');
      statements.reset();
      await ownTasks.invoke!(job!.payload, helpers());
      await sql`delete from graphile_worker._private_jobs where id = ${job!.id}`.execute(testDb.db);
      expect(livenessReads()).toBe(remembers ? 0 : 1);
      expect(await state(conversationId)).toBe('awaitingReply');
    }
    expect(simulators.sms.sent).toHaveLength(2);
  });

  it("when the drafter's job stops after its result was applied, then its retry sends the reply, and a retry after that sends nothing more", async () => {
    await inbound('w-cut', 'Hi, what is my balance?', '+15550400011', 'w-cut-1');
    const { job, send } = await draftOnly('w-cut', { keepJob: true });
    expect(send).toMatchObject({ src: 'sendSms' });
    expect(await state('w-cut')).toBe('sending.handingOff');
    expect(simulators.sms.sent).toEqual([]);
    await runNext('w-cut', 'invoke'); // the job's retry: its result is applied, the send it started runs
    expect(await state('w-cut')).toBe('awaitingReply');
    expect(simulators.sms.sent).toHaveLength(1);
    await tasks.invoke!(job.payload, helpers(3)); // once more: everything it started is done
    expect(simulators.sms.sent).toHaveLength(1);
  });

  it("when the send a draft started fails with a retryable error on the job's last try, then it runs again as a job of its own with its own tries", async () => {
    // A database error, say: retryable, and not an SMS Agent outage (that is waited out on a timer of its own).
    let failures = 0;
    const flaky = createTaskList({
      runtime,
      activities: {
        ...activities,
        async sendSms(input, context) {
          failures += 1;
          if (failures === 1) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          return activities.sendSms(input, context);
        },
      },
      effects,
      logger: createLogger({ level: 'silent' }),
    });
    await inbound('w-own-tries', 'Hi, what is my balance?', '+15550400015', 'w-own-tries-1');
    const [drafter] = await pendingJobs('w-own-tries', 'invoke');
    // The drafter's last counted try: before, the send's failure here was final and the conversation failed.
    await flaky.invoke!(drafter!.payload, helpers(DEFAULT_INVOKE_ATTEMPTS));
    await sql`delete from graphile_worker._private_jobs where id = ${drafter!.id}`.execute(testDb.db);
    expect(await state('w-own-tries')).toBe('sending.handingOff');
    expect(simulators.sms.sent).toEqual([]);
    const [retry] = await pendingJobs('w-own-tries', 'invoke');
    expect(retry).toMatchObject({ key: expect.stringMatching(/^retry:/), payload: { src: 'sendSms' } });
    expect(retry!.run_at.getTime()).toBeGreaterThan(Date.now());
    await runNext('w-own-tries', 'invoke', 1, {}, flaky); // its own first try
    expect(await state('w-own-tries')).toBe('awaitingReply');
    expect(simulators.sms.sent).toHaveLength(1);
    expect(await pendingJobs('w-own-tries', 'invoke')).toEqual([]);
  });

  it('when staff close a conversation between its draft and its send, then nothing is sent', async () => {
    await inbound('w-close', 'Hi, what is my balance?', '+15550400001', 'w-close-1');
    const { send } = await draftOnly('w-close'); // drafted and routed to sending
    expect(await state('w-close')).toBe('sending.handingOff');
    await staff('w-close', 'staff.close', 'w-close-2');
    await tasks.invoke!(send, helpers()); // the send, no longer wanted
    expect(simulators.sms.sent).toEqual([]);
    expect(await state('w-close')).toBe('closed');
  });

  it('when a STOP commits after the text left, then the text is recorded as sent in the audit trail though the conversation moved on', async () => {
    await inbound('w-late', 'Hi, what is my balance?', '+15550400009', 'w-late-1');
    const { send } = await draftOnly('w-late'); // drafted and routed to sending
    const job = { payload: send! };
    // The hand-off happens (the SMS Agent accepts the text)...
    const output = await activities.sendSms(job.payload.input as Parameters<typeof activities.sendSms>[0], { signal: new AbortController().signal, keepDraft: () => {} });
    // ...and a STOP commits before the sender's result does.
    await inbound('w-late', 'STOP', '+15550400009', 'w-late-2');
    const result = await runtime.apply({
      conversationId: 'w-late',
      event: { type: 'xstate.done.actor.sender', output },
      idempotencyKey: `result:${job.payload.token}`,
      actor: 'worker',
      origin: { kind: 'invoke', id: 'sender', token: job.payload.token },
      ifNotAccepted: 'record',
    });
    expect(result.outcome).toBe('stale');
    const trail = await testDb.db.selectFrom('transitions').selectAll().where('conversation_id', '=', 'w-late').orderBy('seq').execute();
    const late = trail.at(-1)!;
    expect(late).toMatchObject({ event_type: 'xstate.done.actor.sender', from_state: 'drafting', to_state: 'drafting' });
    expect(late.words_digest).not.toBeNull();
    expect(simulators.sms.sent).toHaveLength(1);
    // The chain, with this row, still verifies (the digest is the words of the text that went out).
    expect((await verifyChains(testDb.db, ['w-late'])).breaks).toEqual([]);
  });

  it('when STOP arrives while the reply waits to be sent, then the reply never goes out, only the one confirmation', async () => {
    await inbound('w-stop', 'Hi, what is my balance?', '+15550400002', 'w-stop-1');
    const { send } = await draftOnly('w-stop');
    await inbound('w-stop', 'STOP', '+15550400002', 'w-stop-2');
    expect(await state('w-stop')).toBe('drafting');
    await tasks.invoke!(send, helpers()); // the stopped sender: does nothing
    await runNext('w-stop', 'invoke'); // the new drafter: opt-out
    expect(await state('w-stop')).toBe('optedOut');
    await runNext('w-stop', 'effect'); // the one effect of optedOut: the confirmation
    expect(simulators.sms.sent.map((sms) => sms.body)).toEqual([expect.stringMatching(/unsubscribed/)]);
  });

  it('when a send timed out for good and a manager retries, then the earlier text is found and not sent again', async () => {
    await inbound('w-retry', 'Hi, what is my balance?', '+15550400003', 'w-retry-1');
    const { send } = await draftOnly('w-retry');
    simulators.sms.setResponseDelay(1_000); // accepted, but the answer comes after our 300 ms timeout
    // A send that has waited out the whole SEND_RETRY_WINDOW: the error goes to the machine.
    await tasks.invoke!({ ...send, outageSince: new Date(0).toISOString(), outageRetries: 20 }, helpers(4));
    expect(await state('w-retry')).toBe('failed');
    expect(simulators.sms.sent).toHaveLength(1);
    simulators.sms.setResponseDelay(0);
    await staff('w-retry', 'retry', 'w-retry-2');
    await runNext('w-retry', 'invoke');
    expect(await state('w-retry')).toBe('awaitingReply');
    expect(simulators.sms.sent).toHaveLength(1);
  });

  it('when a retryable failure is not yet the last counted attempt, then the job throws for graphile-worker to retry', async () => {
    await inbound('w-attempts', 'Hi, what is my balance?', '+15550400004', 'w-attempts-1');
    simulators.monitor.failNext(100, 503);
    await expect(runNext('w-attempts', 'invoke', 1)).rejects.toMatchObject({ retryable: true });
    expect(await state('w-attempts')).toBe('drafting');
  });

  it('when an earlier identical text was sent, then a new send with an unknown outcome is not mistaken for it', async () => {
    // The first text of a thread carries the full notice; the two after it are the identical ones. From the number
    // on record: an unconfirmed number's second text would be its answer to who it is (a verification task).
    const onRecord = simulatedTenant('tenant-w').phone_numbers[0]!;
    for (const key of ['w-same-0', 'w-same-1']) {
      await inbound('w-same', 'Hi, what is my balance?', onRecord, key);
      await runNext('w-same', 'invoke'); // drafted and sent, one job
      expect(await state('w-same')).toBe('awaitingReply');
    }
    await inbound('w-same', 'Hi, what is my balance?', onRecord, 'w-same-2');
    const { send } = await draftOnly('w-same'); // same question, same template
    simulators.sms.failNext(1, 503); // the first try of the third send fails before the agent stores it
    // An outage: the send is put back on a timer (a job, due later) instead of failing.
    await tasks.invoke!(send, helpers(1));
    const [putBack] = await pendingJobs('w-same', 'invoke');
    expect(putBack!.payload).toMatchObject({ token: send!.token, outageRetries: 1 });
    expect(putBack!.run_at.getTime()).toBeGreaterThan(Date.now());
    await runNext('w-same', 'invoke', 2);
    expect(simulators.sms.sent).toHaveLength(3);
    expect(simulators.sms.sent[1].body).toBe(simulators.sms.sent[2].body);
  });

  it('when a number opted out in one conversation, then another conversation sends it nothing', async () => {
    await inbound('w-out-a', 'STOP', '+15550400006', 'w-out-a-1');
    await runNext('w-out-a', 'invoke');
    await runNext('w-out-a', 'effect');
    expect(simulators.sms.sent).toHaveLength(1); // the confirmation
    await inbound('w-out-b', 'Hi, what is my balance?', '+15550400006', 'w-out-b-1');
    await runNext('w-out-b', 'invoke'); // drafted, then the send refused by the gate, in one job
    expect(await state('w-out-b')).toBe('failed');
    expect(simulators.sms.sent).toHaveLength(1);
  });

  it('when an acknowledgement would tell a number not on record that an account exists, then it is withheld and recorded; the identity texts still go', async () => {
    await inbound('w-ack', 'Hi', '+15550400012', 'w-ack-1');
    const context = (key: string) => ({ conversationId: 'w-ack', key, signal: new AbortController().signal, runAgainAt: async () => {} });
    const params = { tenantId: 'tenant-w', phone: '+15550400012', inReplyTo: null, identityVerified: false };
    for (const kind of ['dispute', 'plan_review', 'settled'] as const) await effects.acknowledge({ ...params, kind }, context(`w-ack-${kind}`));
    expect(simulators.sms.sent).toEqual([]);
    const withheld = await testDb.db.selectFrom('compliance_decisions').select('detail').where('conversation_id', '=', 'w-ack').where('decision', '=', 'withheld').execute();
    expect(withheld.map((row) => row.detail).sort()).toEqual(['dispute', 'plan_review', 'settled'].map((kind) => `withheld: ${kind} acknowledgement to an unverified number`));
    await effects.acknowledge({ ...params, kind: 'identity_claimed' }, context('w-ack-identity'));
    expect(simulators.sms.sent.map((sms) => sms.body)).toEqual([expect.stringMatching(/^Thank you\. A member of our team will confirm your details/)]);
  });
});
