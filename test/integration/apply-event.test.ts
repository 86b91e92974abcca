import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { Draft } from '../../machines/conversation/conversation.types.js';
import { insertDraft, type DraftRecord } from '../../src/db/drafts.repository.js';
import { newestInbound } from '../../src/db/messages.repository.js';
import type { EventEnvelope, Runtime } from '../../src/runtime/apply-event.js';
import { JOB_PRIORITY } from '../../src/runtime/job-queue.js';
import { verifyChains } from '../../src/runtime/audit-verify.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeDraft } from '../helpers/fixtures.js';
import { invokeResult, queuedJobs } from '../helpers/jobs.js';
import { countStatements } from '../../bench/lib/statement-count.js';
import { setup } from 'xstate';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { createRuntime } from '../../src/runtime/apply-event.js';
import { actionRouting } from '../../src/runtime/projections.js';

let testDb: TestDatabase;
let runtime: Runtime;

let counter = 0;
const inbound = (conversationId: string, text: string, key = `sms-${++counter}`): EventEnvelope => ({
  conversationId,
  event: { type: 'sms.received', text, messageId: key, at: new Date().toISOString() },
  idempotencyKey: key,
  actor: 'service:sms-agent',
  create: { conversationId, tenantId: 'tenant-1', phone: '+15550001111' },
  ifNotAccepted: 'record',
});

const jobs = (conversationId: string, task: string) => queuedJobs(testDb.db, conversationId, task);

const draft = (overrides: Partial<Draft> = {}) => makeDraft({ id: `draft-${++counter}`, ...overrides });

/** The row a worker keeps for a drafting result (ActivityContext.keepDraft). */
const draftRecordOf = (output: Draft, conversationId: string): DraftRecord => ({
  id: output.id,
  conversationId,
  drafter: output.drafter,
  model: null,
  promptVersion: null,
  confidence: output.confidence,
  intents: output.intents,
  negotiation: null,
  reasons: [],
  rawText: null,
  text: output.text,
  reviewReason: output.reviewReason,
  usage: null,
  latencyMs: 1,
});

/** The drafting result applied as the worker applies it: its draft written in the same statement. */
async function finishDrafting(conversationId: string, output: Draft) {
  const [job] = (await jobs(conversationId, 'invoke')).slice(-1);
  return runtime.apply({ ...invokeResult(job, { type: 'xstate.done.actor.drafter', output }), drafts: [draftRecordOf(output, conversationId)] });
}

// Every behaviour holds whether a process reads each conversation before its event or remembers the ones it wrote.
describe.each([
  ['reading every conversation', 0],
  ['remembering conversations it wrote', 100],
])('apply-event, %s', (_name, rememberConversations) => {
  beforeAll(async () => {
    testDb = await createTestDatabase();
    runtime = testRuntime(testDb.db, { rememberConversations });
  });
  afterAll(() => testDb.drop());

  it('when the first inbound SMS arrives, then the conversation is created and a drafting job is written with it', async () => {
    const result = await runtime.apply(inbound('c-create', 'hello'));
    expect(result).toMatchObject({ state: 'drafting', version: 1, outcome: 'applied', duplicate: false });
    const [job] = await jobs('c-create', 'invoke');
    // The job names how many texts the reply answers; the words stay in the messages table.
    expect(job.payload).toMatchObject({ src: 'draftReply', invokeId: 'drafter', input: { unansweredCount: 1 } });
    expect(JSON.stringify(job.payload)).not.toContain('hello');
    const trail = await testDb.db.selectFrom('transitions').selectAll().where('conversation_id', '=', 'c-create').orderBy('seq').execute();
    expect(trail.map((row) => [row.from_state, row.to_state, row.event_type])).toEqual([
      [null, 'idle', 'xstate.init'],
      ['idle', 'drafting', 'sms.received'],
    ]);
    expect(trail[1].prev_hash).toBe(trail[0].hash);
  });

  it('when the same event is applied twice, then the second gets the first answer and nothing happens twice', async () => {
    const envelope = inbound('c-dup', 'hello', 'dup-key');
    const first = await runtime.apply(envelope);
    const second = await runtime.apply(envelope);
    expect(second).toEqual({ ...first, duplicate: true });
    expect(await jobs('c-dup', 'invoke')).toHaveLength(1);
    const messages = await testDb.db.selectFrom('messages').select('body').where('conversation_id', '=', 'c-dup').execute();
    expect(messages).toEqual([{ body: 'hello' }]);
  });

  it('when the same new event arrives several times at once, then one applies it and the others get its answer', async () => {
    // The claim of the key, the inbound message and the lock are one statement; racing copies queue on the key.
    await runtime.apply(inbound('c-race', 'first'));
    const envelope = inbound('c-race', 'again', 'race-key');
    const results = await Promise.all(Array.from({ length: 5 }, () => runtime.apply(envelope)));
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    const original = results.find((result) => !result.duplicate)!;
    for (const result of results) expect(result).toEqual({ ...original, duplicate: result.duplicate });
    const messages = await testDb.db.selectFrom('messages').select('body').where('conversation_id', '=', 'c-race').execute();
    expect(messages.map((m) => m.body)).toEqual(['first', 'again']);
  });

  it('when many different events on one conversation arrive at once, then each is applied once, in some order, on one unbroken chain', async () => {
    // The optimistic path: each writer's statement applies only at the version it read; losers read again.
    await runtime.apply(inbound('c-many', 'first'));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => runtime.apply(inbound('c-many', `text ${i}`, `many-${i}`))));
    expect(results.every((result) => result.outcome === 'applied' && !result.duplicate)).toBe(true);
    expect(new Set(results.map((result) => result.version)).size).toBe(12);
    const row = await testDb.db.selectFrom('conversations').select(['version', 'audit_seq']).where('id', '=', 'c-many').executeTakeFirstOrThrow();
    expect(row.version).toBe(13);
    const trail = await testDb.db.selectFrom('transitions').select('seq').where('conversation_id', '=', 'c-many').orderBy('seq').execute();
    expect(trail.map((t) => t.seq)).toEqual(Array.from({ length: row.audit_seq }, (_, i) => i + 1));
    expect((await verifyChains(testDb.db, ['c-many'])).breaks).toEqual([]);
    const messages = await testDb.db.selectFrom('messages').select('body').where('conversation_id', '=', 'c-many').execute();
    expect(messages).toHaveLength(13);
    // Every applied event wrote its one job; the superseded ones stay queued and will be recorded as stale.
    expect(await jobs('c-many', 'invoke')).toHaveLength(13);
  });

  it("when texts of another tenant or number, some at once, name an existing conversation, then each is a 409 conversation_mismatch and nothing of theirs is written", async () => {
    await runtime.apply(inbound('c-owned', 'mine', 'owned-key'));
    const stranger = (key: string, tenantId: string, phone: string): EventEnvelope => ({
      ...inbound('c-owned', `not yours ${key}`, key),
      create: { conversationId: 'c-owned', tenantId, phone },
    });
    const attempts = [
      stranger('owned-key', 'tenant-2', '+15550001111'), // the owner's own key: no duplicate answer either
      ...Array.from({ length: 4 }, (_, i) => stranger(`other-${i}`, i % 2 ? 'tenant-2' : 'tenant-1', i % 2 ? '+15550001111' : '+15550002222')),
    ];
    const outcomes = await Promise.allSettled(attempts.map((envelope) => runtime.apply(envelope)));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: { status: 409, code: 'conversation_mismatch' } });
    const messages = await testDb.db.selectFrom('messages').select('body').where('conversation_id', '=', 'c-owned').execute();
    expect(messages).toEqual([{ body: 'mine' }]);
    const keys = await testDb.db.selectFrom('inbox').select('idempotency_key').where('conversation_id', '=', 'c-owned').execute();
    expect(keys).toEqual([{ idempotency_key: 'owned-key' }]);
  });

  it('when an unknown conversation gets a manager event, then it is a 404 and nothing is written', async () => {
    await expect(
      runtime.apply({ conversationId: 'nobody', event: { type: 'staff.close', by: 'm' }, idempotencyKey: 'k1', actor: 'manager:m', ifNotAccepted: 'reject' }),
    ).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const inboxRows = await testDb.db.selectFrom('inbox').selectAll().where('conversation_id', '=', 'nobody').execute();
    expect(inboxRows).toEqual([]);
  });

  it('when an event is illegal in the current state, then it is a 409 naming the allowed events and nothing is written', async () => {
    await runtime.apply(inbound('c-illegal', 'hello'));
    const before = await testDb.db.selectFrom('conversations').selectAll().where('id', '=', 'c-illegal').executeTakeFirstOrThrow();
    await expect(
      runtime.apply({ conversationId: 'c-illegal', event: { type: 'retry', by: 'm' }, idempotencyKey: 'k-illegal', actor: 'manager:m', ifNotAccepted: 'reject' }),
    ).rejects.toMatchObject({ status: 409, code: 'event_not_allowed', details: { state: 'drafting' } });
    const after = await testDb.db.selectFrom('conversations').selectAll().where('id', '=', 'c-illegal').executeTakeFirstOrThrow();
    expect(after.version).toBe(before.version);
    const inboxRow = await testDb.db.selectFrom('inbox').selectAll().where('idempotency_key', '=', 'k-illegal').executeTakeFirst();
    expect(inboxRow).toBeUndefined();
  });

  it('when a draft is mid-confidence, then an approval is queued with an SLA timer, and approving sends it', async () => {
    await runtime.apply(inbound('c-approve', 'can I pay later?'));
    const output = draft({ confidence: 0.7 });
    expect(await finishDrafting('c-approve', output)).toMatchObject({ state: 'pendingApproval' });
    const queued = await testDb.db.selectFrom('drafts').selectAll().where('id', '=', output.id).executeTakeFirstOrThrow();
    expect(queued.review_status).toBe('pending');
    const [sla] = await jobs('c-approve', 'timer');
    expect(sla.key).toBe('timer:c-approve:timer.approval_sla');
    expect((await jobs('c-approve', 'effect')).map((job) => job.payload.type)).toContain('notifyManagers');
    // A turn in progress goes first: timers and effects ahead of drafts, which start new turns.
    expect(sla.priority).toBe(JOB_PRIORITY.finishTurn);
    expect((await jobs('c-approve', 'effect')).every((job) => job.priority === JOB_PRIORITY.finishTurn)).toBe(true);
    const [drafting] = await jobs('c-approve', 'invoke');
    expect(drafting).toMatchObject({ payload: { src: 'draftReply' }, priority: JOB_PRIORITY.startTurn });

    const approved = await runtime.apply({
      conversationId: 'c-approve',
      event: { type: 'review.approved', approvalId: output.id, managerId: 'm-1' },
      idempotencyKey: 'approve-1',
      actor: 'manager:m-1',
      ifNotAccepted: 'reject',
    });
    expect(approved.state).toBe('sending.handingOff');
    expect(await jobs('c-approve', 'timer')).toEqual([]); // the SLA timer was removed with its state
    const sendJob = (await jobs('c-approve', 'invoke')).at(-1)!;
    expect(sendJob.payload).toMatchObject({ src: 'sendSms', input: { text: output.text } });
    expect(sendJob.priority).toBe(JOB_PRIORITY.finishTurn);
    expect(JOB_PRIORITY.finishTurn).toBeLessThan(JOB_PRIORITY.startTurn);
    const decided = await testDb.db.selectFrom('drafts').selectAll().where('id', '=', output.id).executeTakeFirstOrThrow();
    expect(decided).toMatchObject({ review_status: 'approved', reviewer: 'm-1', final_text: output.text });
    const decisions = await testDb.db.selectFrom('approval_decisions').selectAll().where('approval_id', '=', output.id).execute();
    expect(decisions).toMatchObject([{ decision: 'approved', reviewer: 'm-1', original_text: output.text, final_text: output.text, reason: null }]);
    await expect(sql`update approval_decisions set reviewer = 'someone else'`.execute(testDb.db)).rejects.toThrow(/append-only/);
  });

  it('when a newer SMS supersedes a draft in flight, then the old drafter result is recorded as stale and ignored', async () => {
    await runtime.apply(inbound('c-stale', 'first'));
    const [oldJob] = await jobs('c-stale', 'invoke');
    await runtime.apply(inbound('c-stale', 'second'));
    const late = await runtime.apply({
      conversationId: 'c-stale',
      event: { type: 'xstate.done.actor.drafter', output: draft({ confidence: 0.99 }) },
      idempotencyKey: `result:${oldJob.payload.token}`,
      actor: 'worker',
      origin: { kind: 'invoke', id: 'drafter', token: oldJob.payload.token },
      ifNotAccepted: 'record',
    });
    expect(late).toMatchObject({ outcome: 'stale', state: 'drafting' });
    const newJob = (await jobs('c-stale', 'invoke')).at(-1)!;
    expect(newJob.payload.input.unansweredCount).toBe(2);
    const texts = (await newestInbound(testDb.db, [{ conversationId: 'c-stale', count: 2 }])).get('c-stale')!;
    expect(texts.map((m) => m.text)).toEqual(['first', 'second']);
  });

  it('when an opted-out debtor writes again, then the message is recorded and nothing else happens', async () => {
    await runtime.apply(inbound('c-stop', 'STOP'));
    expect(await finishDrafting('c-stop', draft({ intents: ['opt_out'], confidence: 0.99 }))).toMatchObject({ state: 'optedOut' });
    const effects = await jobs('c-stop', 'effect');
    expect(effects.map((job) => job.payload.type)).toEqual(['sendOptOutConfirmation']);
    const again = await runtime.apply(inbound('c-stop', 'hello?'));
    expect(again).toMatchObject({ state: 'optedOut', outcome: 'recorded' });
    expect(await jobs('c-stop', 'effect')).toHaveLength(1);
    const messages = await testDb.db.selectFrom('messages').select('body').where('conversation_id', '=', 'c-stop').execute();
    expect(messages.map((m) => m.body)).toEqual(['STOP', 'hello?']);
  });

  it('when a draft names a human-only intent, then the conversation is escalated with an escalation row', async () => {
    await runtime.apply(inbound('c-lawyer', 'talk to my lawyer'));
    expect(await finishDrafting('c-lawyer', draft({ intents: ['attorney'], confidence: 0.95 }))).toMatchObject({ state: 'escalated' });
    const escalation = await testDb.db.selectFrom('escalations').selectAll().where('conversation_id', '=', 'c-lawyer').executeTakeFirstOrThrow();
    expect(escalation.reason).toBe('attorney');
  });

  it('when someone tries to change or delete the audit trail, then the database refuses', async () => {
    await runtime.apply(inbound('c-audit', 'hello'));
    await expect(sql`update transitions set actor = 'someone else' where conversation_id = 'c-audit'`.execute(testDb.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from transitions where conversation_id = 'c-audit'`.execute(testDb.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate transitions`.execute(testDb.db)).rejects.toThrow(/append-only/);
  });

  it('when a Supabase-style anon role reads any table, then it sees no rows', async () => {
    await runtime.apply(inbound('c-rls', 'hello'));
    const client = await testDb.pool.connect();
    try {
      await client.query(`do $$ begin create role anon nologin; exception when duplicate_object then null; end $$`);
      await client.query('grant usage on schema public to anon');
      await client.query('grant select on all tables in schema public to anon');
      const tables = await client.query<{ tablename: string }>(
        `select tablename from pg_tables where schemaname = 'public'`,
      );
      await client.query('begin');
      await client.query('set local role anon');
      for (const { tablename } of tables.rows) {
        const { rowCount } = await client.query(`select * from ${tablename}`);
        expect({ tablename, rowCount }).toEqual({ tablename, rowCount: 0 });
      }
      await client.query('rollback');
      const owner = await client.query(`select count(*)::int as n from conversations`);
      expect(owner.rows[0].n).toBeGreaterThan(0);
    } finally {
      client.release();
    }
  });
});

describe('apply-event, statements per event and processes that remember', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const statements = countStatements();
  async function counted<T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> {
    statements.reset();
    const result = await work();
    return { result, statements: statements.total() };
  }
  const sms = (conversationId: string, key: string, text = key) => ({ ...inbound(conversationId, text, key) });

  it('when a conversation is new, then it is created in one write after one read; a remembered one takes one statement', async () => {
    const remembering = testRuntime(db.db, { rememberConversations: 10 });
    const reading = testRuntime(db.db);
    const created = await counted(() => remembering.apply(sms('s-new', 'new-1')));
    expect(created.result).toMatchObject({ state: 'drafting', version: 1, outcome: 'applied' });
    expect(created.statements).toBe(2);
    expect((await counted(() => reading.apply(sms('s-read', 'read-1')))).statements).toBe(2);
    // What it remembers, it knows exists.
    expect([remembering.remembers('s-new'), remembering.remembers('s-read'), reading.remembers('s-read')]).toEqual([true, false, false]);

    expect(await counted(() => remembering.apply(sms('s-new', 'new-2')))).toMatchObject({ result: { version: 2 }, statements: 1 });
    expect(await counted(() => reading.apply(sms('s-read', 'read-2')))).toMatchObject({ result: { version: 2 }, statements: 2 });
    expect((await verifyChains(db.db, ['s-new', 's-read'])).breaks).toEqual([]);
  });

  it('when a drafting result carries its draft, then both are written in the result\'s one statement, and a result answered from the inbox writes none', async () => {
    const remembering = testRuntime(db.db, { rememberConversations: 10 });
    await remembering.apply(sms('s-draft', 'draft-sms-1'));
    const [job] = await queuedJobs(db.db, 's-draft', 'invoke');
    const output = makeDraft({ id: 'draft-with-result', confidence: 0.99 });
    const result = { ...invokeResult(job!, { type: 'xstate.done.actor.drafter', output }), drafts: [draftRecordOf(output, 's-draft')] };
    const applied = await counted(() => remembering.apply(result));
    expect(applied).toMatchObject({ result: { outcome: 'applied', state: 'sending.handingOff' }, statements: 1 });
    const draftRows = () => db.db.selectFrom('drafts').select(['id', 'text']).where('conversation_id', '=', 's-draft').orderBy('id').execute();
    expect(await draftRows()).toEqual([{ id: 'draft-with-result', text: output.text }]);
    // The same result again (a job run twice): the inbox answers, and its draft, made again, is not written.
    const again = await remembering.apply({ ...result, drafts: [draftRecordOf({ ...output, id: 'draft-made-again' }, 's-draft')] });
    expect(again).toMatchObject({ duplicate: true });
    expect(await draftRows()).toEqual([{ id: 'draft-with-result', text: output.text }]);
  });

  it('when two processes take turns on one conversation, then a stale memory costs one statement that writes nothing, and each event applies once', async () => {
    const a = testRuntime(db.db, { rememberConversations: 10 });
    const b = testRuntime(db.db, { rememberConversations: 10 });
    await a.apply(sms('s-turns', 'turns-0'));
    const runs = [];
    for (let i = 1; i <= 6; i += 1) runs.push(await counted(() => (i % 2 ? b : a).apply(sms('s-turns', `turns-${i}`))));
    expect(runs.map((run) => run.result.version)).toEqual([2, 3, 4, 5, 6, 7]);
    // b first reads (it never saw the conversation); from then on each finds its memory one version behind.
    expect(runs.map((run) => run.statements)).toEqual([2, 3, 3, 3, 3, 3]);
    expect((await verifyChains(db.db, ['s-turns'])).breaks).toEqual([]);
    const inboxRows = await db.db.selectFrom('inbox').select('outcome').where('conversation_id', '=', 's-turns').execute();
    expect(inboxRows.map((row) => row.outcome)).toEqual(Array(7).fill('applied'));
    const messages = await db.db.selectFrom('messages').select('body').where('conversation_id', '=', 's-turns').execute();
    expect(messages).toHaveLength(7);
  });

  it('when a remembered conversation gets a key again, then the earlier answer comes back and nothing is written twice', async () => {
    const runtime = testRuntime(db.db, { rememberConversations: 10 });
    const first = await runtime.apply(sms('s-again', 'again-1'));
    await runtime.apply(sms('s-again', 'again-2'));
    expect(await runtime.apply(sms('s-again', 'again-1'))).toEqual({ ...first, duplicate: true });
    const messages = await db.db.selectFrom('messages').select('body').where('conversation_id', '=', 's-again').execute();
    expect(messages.map((m) => m.body)).toEqual(['again-1', 'again-2']);
    // Memory was dropped for the duplicate, and is right again after the next write.
    expect(await counted(() => runtime.apply(sms('s-again', 'again-3')))).toMatchObject({ result: { version: 3 } });
    expect(await counted(() => runtime.apply(sms('s-again', 'again-4')))).toMatchObject({ result: { version: 4 }, statements: 1 });
  });

  it('when another process records a late sent text (no state moves), then a remembering process still applies its next events', async () => {
    const remembering = testRuntime(db.db, { rememberConversations: 10 });
    const other = testRuntime(db.db);
    await remembering.apply(sms('s-late', 'late-1'));
    // The other process's worker records a sender result whose invoke is no longer live: an audit row, no move.
    const late = await other.apply({
      conversationId: 's-late',
      event: { type: 'xstate.done.actor.sender', output: { smsId: 'sms-late' } },
      idempotencyKey: 'result:late',
      actor: 'worker',
      origin: { kind: 'invoke', id: 'sender', token: 's-late:0:99' },
      ifNotAccepted: 'record',
    });
    // Every write raises the version, so the remembered copy is seen to be behind.
    expect(late).toMatchObject({ outcome: 'stale', version: 2 });
    for (const key of ['late-2', 'late-3']) await remembering.apply(sms('s-late', key));
    const row = await db.db.selectFrom('conversations').select(['version', 'audit_seq']).where('id', '=', 's-late').executeTakeFirstOrThrow();
    expect(row).toEqual({ version: 4, audit_seq: 5 });
    expect((await verifyChains(db.db, ['s-late'])).breaks).toEqual([]);
  });

  it('when another process closes a conversation, then a send it had queued is not live for the process that remembers it', async () => {
    const remembering = testRuntime(db.db, { rememberConversations: 10 });
    const other = testRuntime(db.db);
    await remembering.apply(sms('s-close', 'close-1'));
    const [drafting] = await queuedJobs(db.db, 's-close', 'invoke');
    const output = makeDraft({ id: 'draft-s-close', confidence: 0.95 });
    await insertDraft(db.db, {
      ...output,
      conversationId: 's-close',
      model: null,
      promptVersion: null,
      negotiation: null,
      reasons: [],
      rawText: null,
      usage: null,
      latencyMs: 1,
    });
    await remembering.apply(invokeResult(drafting, { type: 'xstate.done.actor.drafter', output }));
    const send = (await queuedJobs(db.db, 's-close', 'invoke')).at(-1)!;
    expect(send.payload.src).toBe('sendSms');
    const origin = { kind: 'invoke' as const, id: send.payload.invokeId, token: send.payload.token };
    expect(await remembering.isLive('s-close', origin)).toBe(true);
    await other.apply({ conversationId: 's-close', event: { type: 'staff.close', by: 'm-1' }, idempotencyKey: 'close-by-m', actor: 'manager:m-1', ifNotAccepted: 'reject' });
    expect(await remembering.isLive('s-close', origin)).toBe(false);
  });

  it("when the drafter's liveness may come from memory, then a conversation this process wrote answers without a statement, a stopped invoke is read, and another process's write is not seen", async () => {
    const remembering = testRuntime(db.db, { rememberConversations: 10 });
    const other = testRuntime(db.db);
    await remembering.apply(sms('s-mem', 'mem-1'));
    const [drafting] = await queuedJobs(db.db, 's-mem', 'invoke');
    expect(drafting!.payload.src).toBe('draftReply');
    const origin = { kind: 'invoke' as const, id: drafting!.payload.invokeId, token: drafting!.payload.token };
    const statements = countStatements();
    statements.reset();
    expect(await remembering.isLive('s-mem', origin, { memoryWillDo: true })).toBe(true);
    expect(statements.total()).toBe(0);
    // Without the option (the sender's check), or for a conversation this process does not remember, it reads.
    expect(await remembering.isLive('s-mem', origin)).toBe(true);
    expect(await other.isLive('s-mem', origin, { memoryWillDo: true })).toBe(true);
    expect(statements.total()).toBe(2);

    // Another process's write (a second text re-enters drafting: a new invoke) is not in this process's memory:
    // the old drafter still looks live from memory (it will cost a model call, and its result is refused), not from the row.
    await other.apply(sms('s-mem', 'mem-2'));
    expect(await remembering.isLive('s-mem', origin, { memoryWillDo: true })).toBe(true);
    expect(await remembering.isLive('s-mem', origin)).toBe(false);
    const late = await remembering.apply(invokeResult(drafting!, { type: 'xstate.done.actor.drafter', output: makeDraft({ id: 'draft-s-mem' }) }));
    expect(late).toMatchObject({ outcome: 'stale' });

    // This process's own write that stops the invoke is remembered: from memory it is stopped, and that is read to be sure.
    await remembering.apply(sms('s-mem', 'mem-3'));
    statements.reset();
    expect(await remembering.isLive('s-mem', origin, { memoryWillDo: true })).toBe(false);
    expect(statements.total()).toBe(1);
  });

  it("when a new conversation's first event leaves a state that set a timer, then only the event's own timer is queued", async () => {
    // The conversation machine's initial state sets none; a small machine does, to exercise the one write of both steps.
    const timed = setup({}).createMachine({
      id: 'timed',
      initial: 'idle',
      states: { idle: { after: { 60_000: 'later' }, on: { 'sms.received': 'busy' } }, busy: { after: { 60_000: 'later' } }, later: {} },
    });
    const runtime = createRuntime({ db: db.db, machine: timed as unknown as ConversationMachine, actions: actionRouting });
    expect(await runtime.apply(sms('s-timed', 'timed-1'))).toMatchObject({ state: 'busy', version: 1, outcome: 'applied' });
    const timers = await queuedJobs(db.db, 's-timed', 'timer');
    expect(timers.map((job) => job.payload.token)).toEqual(['s-timed:1:1']);
    const row = await db.db.selectFrom('conversations').select('live_effects').where('id', '=', 's-timed').executeTakeFirstOrThrow();
    expect(Object.values((row.live_effects as unknown as { timers: Record<string, string> }).timers)).toEqual(['s-timed:1:1']);
    expect((await verifyChains(db.db, ['s-timed'])).breaks).toEqual([]);
  });

  it('when several first texts create one conversation at once from two processes, then one creates it and each text applies once', async () => {
    const a = testRuntime(db.db, { rememberConversations: 10 });
    const b = testRuntime(db.db, { rememberConversations: 10 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).apply(sms('s-burst', `burst-${i}`))));
    expect(results.every((result) => result.outcome === 'applied' && !result.duplicate)).toBe(true);
    expect(results.map((result) => result.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const trail = await db.db.selectFrom('transitions').select(['seq', 'event_type']).where('conversation_id', '=', 's-burst').orderBy('seq').execute();
    expect(trail.filter((row) => row.event_type === 'xstate.init')).toHaveLength(1);
    expect((await verifyChains(db.db, ['s-burst'])).breaks).toEqual([]);
    const messages = await db.db.selectFrom('messages').select('body').where('conversation_id', '=', 's-burst').execute();
    expect(messages).toHaveLength(8);
  });

  /** A text for the tenant's default conversation of a number, as a process whose secret derives `id` sends it. */
  const toDefault = (id: string, key: string, phone: string, event: EventEnvelope['event'] = inbound(id, key, key).event): EventEnvelope => ({
    ...inbound(id, key, key),
    event,
    create: { conversationId: id, tenantId: 'tenant-default', phone },
    defaultConversation: true,
  });
  const defaultsOf = (phone: string) =>
    db.db.selectFrom('conversations').select(['id', 'default_for_phone']).where('tenant_id', '=', 'tenant-default').where('phone', '=', phone).execute();

  it('when first texts for one number reach two processes that derive different ids, at once, then one default conversation takes each text once', async () => {
    const phone = '+15550003331';
    const a = testRuntime(db.db, { rememberConversations: 10 });
    const b = testRuntime(db.db, { rememberConversations: 10 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a.apply(toDefault('d-a', `d1-${i}`, phone)) : b.apply(toDefault('d-b', `d1-${i}`, phone)))));
    const [conversation, ...others] = await defaultsOf(phone);
    expect(others).toEqual([]);
    expect(conversation!.default_for_phone).toBe(phone);
    expect(results.every((result) => result.conversationId === conversation!.id && result.outcome === 'applied' && !result.duplicate)).toBe(true);
    expect(results.map((result) => result.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // A webhook redelivered to the process with the other id: the first answer, nothing applied again.
    const again = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? b.apply(toDefault('d-b', `d1-${i}`, phone)) : a.apply(toDefault('d-a', `d1-${i}`, phone)))));
    expect(again.map((result) => [result.conversationId, result.duplicate])).toEqual(results.map((result) => [result.conversationId, true]));
    const messages = await db.db.selectFrom('messages').select('body').where('conversation_id', '=', conversation!.id).execute();
    expect(messages).toHaveLength(8);
    expect((await verifyChains(db.db, [conversation!.id])).breaks).toEqual([]);
  });

  it('when a default conversation has another id than the one a process derives, then it is found in the read: 2 statements, 1 when remembered', async () => {
    const phone = '+15550003332';
    const a = testRuntime(db.db, { rememberConversations: 10 });
    const b = testRuntime(db.db, { rememberConversations: 10 });
    expect((await counted(() => b.apply(toDefault('d2-b', 'd2-0', phone)))).statements).toBe(2);
    expect(await counted(() => a.apply(toDefault('d2-a', 'd2-1', phone)))).toMatchObject({ result: { conversationId: 'd2-b', version: 2 }, statements: 2 });
    // b remembers what it wrote; the version it holds is behind a's write: one statement that writes nothing, then read and write.
    expect(await counted(() => b.apply(toDefault('d2-b', 'd2-2', phone)))).toMatchObject({ result: { conversationId: 'd2-b', version: 3 }, statements: 3 });
    expect(await counted(() => b.apply(toDefault('d2-b', 'd2-3', phone)))).toMatchObject({ result: { conversationId: 'd2-b', version: 4 }, statements: 1 });
  });

  it('when events the machine does not take create the default conversation from two processes at once (the locking path), then one creates it and both are recorded once', async () => {
    const phone = '+15550003333';
    const a = testRuntime(db.db);
    const b = testRuntime(db.db);
    const resume = { type: 'staff.resume' };
    const results = await Promise.all([a.apply(toDefault('d3-a', 'd3-a', phone, resume)), b.apply(toDefault('d3-b', 'd3-b', phone, resume))]);
    const [conversation, ...others] = await defaultsOf(phone);
    expect(others).toEqual([]);
    expect(results.map((result) => [result.conversationId, result.outcome, result.duplicate])).toEqual([
      [conversation!.id, 'recorded', false],
      [conversation!.id, 'recorded', false],
    ]);
    const keys = await db.db.selectFrom('inbox').select('idempotency_key').where('conversation_id', '=', conversation!.id).orderBy('idempotency_key').execute();
    expect(keys.map((row) => row.idempotency_key)).toEqual(['d3-a', 'd3-b']);
  });
});
