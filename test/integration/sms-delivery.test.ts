import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { deliverSms } from '../../src/adapters/sms-delivery.js';
import type { SmsAgent } from '../../src/adapters/ports.js';
import { checkSend, createGateReads, readSendFacts } from '../../src/adapters/send-gate.js';
import { claimOutbound, countAttempt, giveBackClaim } from '../../src/db/outbound-messages.repository.js';
import { conversationTimeline } from '../../src/db/timeline.repository.js';
import { DEFAULT_CONTACT_WINDOW } from '../../src/policies/contact-window.js';
import { createDb, createPool, type Db } from '../../src/db/database.js';
import { recordOptOut } from '../../src/db/opt-outs.repository.js';
import type { LiveFence } from '../../src/runtime/worker.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { countStatements } from '../../bench/lib/statement-count.js';
import { sql } from 'kysely';
import { testRuntime } from '../helpers/runtime.js';
import { holdUntilReleased } from '../helpers/hold.js';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { waitFor } from '../helpers/orchestrator.js';
import { testServiceClients } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The hand-off to the SMS Agent on real Postgres and the simulator (docs/architecture.md §4): a retry
 * reconciles with the agent's history, but only ever with a text that is its own.
 */

let testDb: TestDatabase;
let simulators: RunningSimulators;
let smsAgent: SmsAgent;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  testDb = await createTestDatabase();
  simulators = await startSimulators({ basePort: 0, logger });
  const clients = testServiceClients(simulators, logger);
  smsAgent = clients.services.smsAgent;
});
afterAll(async () => {
  await simulators.close();
  await testDb.drop();
});
beforeEach(() => simulators.reset());

const deliver = (message: { key: string; conversationId: string; phone: string; text: string }) => deliverSms({ db: testDb.db, smsAgent, logger }, message);
/** The send-time gate with calling hours open all day, so that only what a test sets up holds a text back. */
const openGate = () => ({ db: testDb.db, clock: () => Date.now(), contactWindow: { ...DEFAULT_CONTACT_WINDOW, startHour: 0, endHour: 24 } });
const outbound = (key: string) =>
  testDb.db.selectFrom('outbound_messages').select(['status', 'attempts', 'sms_agent_id']).where('idempotency_key', '=', key).executeTakeFirst();

describe('a retry reconciles only with its own text', () => {
  it("when two tenants' conversations text one number the same template and one send fails cleanly, then its retry sends its own text instead of adopting the other's", async () => {
    const phone = '+15550901001';
    const text = 'Acme Recovery is a debt collector. Reply STOP to opt out.';
    const other = await deliver({ key: 'draft-tenant-y', conversationId: 'conv-y', phone, text });

    // Tenant X's send meets a clean failure: 503, nothing stored at the agent; our row stays `sending`.
    simulators.sms.failNext(1, 503);
    await expect(deliver({ key: 'draft-tenant-x', conversationId: 'conv-x', phone, text })).rejects.toMatchObject({ retryable: true });
    expect(simulators.sms.sent).toHaveLength(1);

    const retried = await deliver({ key: 'draft-tenant-x', conversationId: 'conv-x', phone, text });
    expect(retried.smsId).not.toBe(other.smsId);
    expect(simulators.sms.sent.map((sent) => sent.conversation_id)).toEqual(['conv-y', 'conv-x']);
    const rows = await testDb.db.selectFrom('outbound_messages').select(['conversation_id', 'sms_agent_id']).where('conversation_id', 'in', ['conv-x', 'conv-y']).orderBy('conversation_id').execute();
    expect(rows).toEqual([
      { conversation_id: 'conv-x', sms_agent_id: simulators.sms.sent[1]!.id },
      { conversation_id: 'conv-y', sms_agent_id: other.smsId },
    ]);
  });

  it('when two of our rows would claim one SMS Agent id, then the database refuses the second', async () => {
    const values = (key: string) => ({ idempotency_key: key, conversation_id: key, body: 'x', status: 'accepted' as const, sms_agent_id: 'sms-shared-id' });
    await testDb.db.insertInto('outbound_messages').values(values('claim-a')).execute();
    await expect(testDb.db.insertInto('outbound_messages').values(values('claim-b')).execute()).rejects.toMatchObject({ code: '23505' });
  });
});

/**
 * A conversation whose drafter invoke is live, and the fence a worker would give that invoke
 * (ActivityContext.whileLive), with the check a worker makes before it runs one (`isLive`).
 */
async function fencedConversation(
  conversationId: string,
  phone: string,
  db: Db = testDb.db,
  options: { runtime?: Runtime; tenantId?: string } = {},
): Promise<LiveFence & { isLive(): Promise<boolean> }> {
  const runtime = options.runtime ?? testRuntime(db);
  await runtime.apply({
    conversationId,
    event: { type: 'sms.received', text: 'hello', messageId: `${conversationId}-hello`, at: new Date().toISOString() },
    idempotencyKey: `${conversationId}-hello`,
    actor: 'service:test',
    create: { conversationId, tenantId: options.tenantId ?? 'tenant-fence', phone },
    ifNotAccepted: 'record',
  });
  const row = await testDb.db.selectFrom('conversations').select('live_effects').where('id', '=', conversationId).executeTakeFirstOrThrow();
  const token = (row.live_effects as unknown as { invokes: Record<string, string> }).invokes.drafter!;
  const origin = { kind: 'invoke' as const, id: 'drafter', token };
  const fence: LiveFence = (work, options) => runtime.whileLive(conversationId, origin, work, options);
  return Object.assign(fence, { isLive: () => runtime.isLive(conversationId, origin) });
}

/** Waits until `n` fence statements (they hold rows FOR SHARE) wait for a lock. */
const fencesWaitingForALock = (n: number) =>
  waitFor(async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like '%for share%'`.execute(testDb.db);
    return rows[0]!.n === n;
  }, 30_000, "the send's fence to wait for the row");

describe("the hand-off's fence", () => {
  const statements = countStatements();

  it('when a fenced send hands off, then the conversation and the number are held, and the opt-out checked once the number is, in one statement: five statements, one text', async () => {
    const phone = '+15550902001';
    const fence = await fencedConversation('conv-fence-count', phone);
    statements.reset();
    await deliverSms({ db: testDb.db, smsAgent, logger }, { key: 'draft-fence-count', conversationId: 'conv-fence-count', phone, text: 'Your balance is $10.' }, { fence });
    // The claim (committed first), then BEGIN, the row, the number and the opt-out check, marking accepted, COMMIT.
    expect(statements.total()).toBe(5);
    expect(simulators.sms.sent.map((sent) => sent.to)).toEqual([phone]);
  });

  it("when the send-time gate claims the text with its read, then the whole send is five statements: the gate's read and the claim in one, then the hand-off", async () => {
    const phone = '+15550902003';
    const conversationId = 'conv-fence-gate';
    const fence = await fencedConversation(conversationId, phone);
    const message = { key: 'draft-fence-gate', conversationId, phone, text: 'Your balance is $10.' };
    statements.reset();
    const verdict = await checkSend(openGate(), { conversationId, phone, timeZone: 'America/Chicago', inReplyTo: null, kind: 'reply' }, message);
    expect(verdict).toEqual({ allowed: true, claimed: true });
    await deliverSms({ db: testDb.db, smsAgent, logger }, message, { fence, claimed: true });
    expect(statements.total()).toBe(5);
    expect(simulators.sms.sent.map((sent) => sent.to)).toEqual([phone]);
    expect(await outbound(message.key)).toEqual({ status: 'accepted', attempts: 1, sms_agent_id: simulators.sms.sent[0]!.id });
  });

  it("when a STOP holds the conversation's row and records the opt-out while a send's fence waits for that row, then neither waits for the other: the STOP commits, and the send, once it holds both, sees the opt-out and sends nothing", async () => {
    const phone = '+15550902002';
    const conversationId = 'conv-fence-order';
    const fence = await fencedConversation(conversationId, phone);
    // The STOP as the locking write path applies it: the row FOR UPDATE, then its projection records the opt-out.
    const stop = await testDb.db.startTransaction().execute();
    try {
      await sql`select 1 from conversations where id = ${conversationId} for update`.execute(stop);
      const sending = deliverSms({ db: testDb.db, smsAgent, logger }, { key: 'draft-fence-order', conversationId, phone, text: 'Your balance is $10.' }, { fence });
      const settled = sending.then(() => 'sent', (error: { code?: string }) => error.code ?? 'error');
      await fencesWaitingForALock(1);
      // Had the fence taken the number before the row, this would wait for it, and PostgreSQL would end one of the two as a deadlock.
      await recordOptOut(stop, phone, conversationId);
      await stop.commit().execute();
      expect(await settled).toBe('opted_out');
    } catch (error) {
      await stop.rollback().execute().catch(() => {});
      throw error;
    }
    expect(simulators.sms.sent.filter((sent) => sent.to === phone)).toEqual([]);
  });
});

/**
 * The group fence (src/runtime/group-fence.ts): hand-offs asked for at the same moment share one fence
 * transaction. Each test lets one fence transaction run at a time and holds it with a first hand-off, so that
 * the hand-offs asked for meanwhile go together when it ends.
 */
describe('hand-offs at the same moment', () => {
  const statements = countStatements();
  const text = 'Your balance is $10.';

  async function oneFenceAtATime(prefix: string, conversations: Array<{ phone: string; tenantId?: string }>) {
    const runtime = testRuntime(testDb.db, { handOffsInFlight: 1 });
    const fences = [];
    for (const [i, conversation] of conversations.entries()) {
      fences.push(await fencedConversation(`${prefix}-${i}`, conversation.phone, testDb.db, { runtime, tenantId: conversation.tenantId }));
    }
    const holder = await fencedConversation(`${prefix}-holder`, '+15550903999', testDb.db, { runtime });
    const { done, release } = await holdUntilReleased((holding) => holder(holding));
    return { fences, release: () => (release(), done) };
  }
  const send = (fence: LiveFence, conversationId: string, phone: string) =>
    deliverSms({ db: testDb.db, smsAgent, logger }, { key: `text-${conversationId}`, conversationId, phone, text }, { fence, claimed: true });
  const claim = (conversationId: string) => claimOutbound(testDb.db, { key: `text-${conversationId}`, conversationId, text, kind: 'reply' });

  it('when ten fenced texts hand off at the same moment, then they share one transaction: BEGIN, one statement that holds every row and number, one that records the ten accepted, COMMIT; each text goes once and is accepted', async () => {
    const phones = Array.from({ length: 10 }, (_, i) => `+1555090310${i}`);
    const { fences, release } = await oneFenceAtATime('conv-batch', phones.map((phone) => ({ phone })));
    for (let i = 0; i < 10; i += 1) await claim(`conv-batch-${i}`);
    statements.reset();
    const sending = Promise.all(fences.map((fence, i) => send(fence, `conv-batch-${i}`, phones[i]!)));
    await release();
    const sent = await sending;
    // The holder's COMMIT, then the ten's transaction: 1 + (1 + 1 + 1 + 1). Alone, each would take four.
    expect(statements.total()).toBe(5);
    expect(simulators.sms.sent.map((sms) => sms.to).sort()).toEqual(phones);
    for (let i = 0; i < 10; i += 1) {
      expect(await outbound(`text-conv-batch-${i}`)).toEqual({ status: 'accepted', attempts: 1, sms_agent_id: sent[i]!.smsId });
    }
  });

  it("when two tenants' conversations of one number hand off together while the second tenant's STOP holds its row and records the opt-out, then nothing deadlocks: every row is held before any number, the STOP commits, the first tenant's text goes and the second's does not", async () => {
    const phone = '+15550903201';
    const { fences, release } = await oneFenceAtATime('conv-shared', [
      { phone, tenantId: 'tenant-shared-a' },
      { phone, tenantId: 'tenant-shared-b' },
    ]);
    await claim('conv-shared-0');
    await claim('conv-shared-1');
    // The STOP as the locking write path applies it: the row FOR UPDATE, then its projection records the opt-out.
    const stop = await testDb.db.startTransaction().execute();
    try {
      await sql`select 1 from conversations where id = 'conv-shared-1' for update`.execute(stop);
      const outcomes = Promise.all(
        fences.map((fence, i) => send(fence, `conv-shared-${i}`, phone).then(() => 'sent', (error: { code?: string }) => error.code ?? String(error))),
      );
      await release();
      // The batch holds conv-shared-0 and waits for conv-shared-1. Had it taken conv-shared-0's number already,
      // the opt-out below would wait for it, and PostgreSQL would end one of the two as a deadlock.
      await fencesWaitingForALock(1);
      await recordOptOut(stop, phone, 'conv-shared-1');
      await stop.commit().execute();
      expect(await outcomes).toEqual(['sent', 'opted_out']);
    } catch (error) {
      await stop.rollback().execute().catch(() => {});
      throw error;
    }
    expect(simulators.sms.sent.map((sms) => sms.conversation_id)).toEqual(['conv-shared-0']);
    expect(await outbound('text-conv-shared-0')).toMatchObject({ status: 'accepted' });
    expect(await outbound('text-conv-shared-1')).toMatchObject({ status: 'sending' });
  });

  it("when one text of a batch fails at the SMS Agent, then it fails alone: the others are accepted, its row stays claimed, and its retry sends it once", async () => {
    const phones = ['+15550903301', '+15550903302', '+15550903303'];
    const { fences, release } = await oneFenceAtATime('conv-one-fails', phones.map((phone) => ({ phone })));
    for (let i = 0; i < 3; i += 1) await claim(`conv-one-fails-${i}`);
    simulators.sms.failNext(1, 503);
    const outcomes = Promise.all(
      fences.map((fence, i) => send(fence, `conv-one-fails-${i}`, phones[i]!).then(() => 'sent', (error: { retryable?: boolean }) => (error.retryable ? 'retryable' : String(error)))),
    );
    await release();
    const settled = await outcomes;
    expect(settled.filter((outcome) => outcome === 'sent')).toHaveLength(2);
    const failed = settled.indexOf('retryable');
    expect(failed).toBeGreaterThanOrEqual(0);
    const statuses = await Promise.all(phones.map((_, i) => outbound(`text-conv-one-fails-${i}`)));
    expect(statuses.map((row) => row!.status)).toEqual(settled.map((outcome) => (outcome === 'sent' ? 'accepted' : 'sending')));
    // The retry finds its row claimed, finds nothing at the agent, and sends it.
    const conversationId = `conv-one-fails-${failed}`;
    await deliverSms({ db: testDb.db, smsAgent, logger }, { key: `text-${conversationId}`, conversationId, phone: phones[failed]!, text }, { fence: fences[failed] });
    expect(simulators.sms.sent.map((sms) => sms.to).sort()).toEqual(phones);
  });

  it("when recording a batch's texts accepted fails, then nothing of the batch is recorded and each text that went out fails with that error, so that its retry reconciles", async () => {
    const { fences, release } = await oneFenceAtATime('conv-record-fails', [{ phone: '+15550903401' }, { phone: '+15550903402' }]);
    await claim('conv-record-fails-0');
    await claim('conv-record-fails-1');
    // Two of our rows may not claim one SMS Agent text (a unique index): the batch's one statement fails.
    const outcomes = Promise.all(
      [0, 1].map((i) =>
        fences[i]!(async () => 'sms-shared', { accepted: (smsAgentId) => ({ key: `text-conv-record-fails-${i}`, smsAgentId }) }).then(
          () => 'recorded',
          (error: { code?: string }) => error.code,
        ),
      ),
    );
    await release();
    expect(await outcomes).toEqual(['23505', '23505']);
    expect(await outbound('text-conv-record-fails-0')).toMatchObject({ status: 'sending', sms_agent_id: null });
    expect(await outbound('text-conv-record-fails-1')).toMatchObject({ status: 'sending', sms_agent_id: null });
  });
});

describe('a text without a fence (a notice, an acknowledgement)', () => {
  it("when the number opted out in the conversation's tenant, then the hand-off's own check refuses it in one statement, another tenant's opt-out does not, and the opt-out confirmation still goes", async () => {
    const phone = '+15550902101';
    await fencedConversation('conv-unfenced-a', phone); // tenant-fence
    await fencedConversation('conv-unfenced-b', phone); // the same tenant and number: its notice is refused below
    const statements = countStatements();
    statements.reset();
    await deliver({ key: 'notice-a-1', conversationId: 'conv-unfenced-a', phone, text: 'Your plan starts Monday.' });
    // The claim, then BEGIN, the number held and checked, marking accepted, COMMIT.
    expect(statements.total()).toBe(5);
    await recordOptOut(testDb.db, phone, 'conv-unfenced-a');
    await expect(deliver({ key: 'notice-b-1', conversationId: 'conv-unfenced-b', phone, text: 'Your plan starts Monday.' })).rejects.toMatchObject({ code: 'opted_out' });
    await deliverSms({ db: testDb.db, smsAgent, logger }, { key: 'confirm-a', conversationId: 'conv-unfenced-a', phone, text: 'You are unsubscribed.', kind: 'confirmation' });
    // Another tenant's conversation with the number: that opt-out is not its tenant's.
    await testRuntime(testDb.db).apply({
      conversationId: 'conv-unfenced-other',
      event: { type: 'sms.received', text: 'hello', messageId: 'unfenced-other-1', at: new Date().toISOString() },
      idempotencyKey: 'unfenced-other-1',
      actor: 'service:test',
      create: { conversationId: 'conv-unfenced-other', tenantId: 'tenant-unfenced-other', phone },
      ifNotAccepted: 'record',
    });
    await deliver({ key: 'notice-other-1', conversationId: 'conv-unfenced-other', phone, text: 'Your other plan starts Monday.' });
    expect(simulators.sms.sent.map((sent) => sent.body)).toEqual(['Your plan starts Monday.', 'You are unsubscribed.', 'Your other plan starts Monday.']);
  });
});

describe("the gate's reads at the same moment", () => {
  const statements = countStatements();
  const request = (conversationId: string, phone: string) => ({ conversationId, phone, timeZone: 'America/Chicago', inReplyTo: null, kind: 'reply' as const });

  it("when ten texts reach the gate at the same moment, then their facts and claims share statements: the first two go alone, the other eight together; each is claimed once, and an opted-out number's text is not claimed", async () => {
    const runtime = testRuntime(testDb.db);
    const phones = Array.from({ length: 10 }, (_, i) => `+1555090350${i}`);
    for (const [i, phone] of phones.entries()) await fencedConversation(`conv-gate-batch-${i}`, phone, testDb.db, { runtime });
    await recordOptOut(testDb.db, phones[9]!, 'conv-gate-batch-9');
    const gate = { ...openGate(), reads: createGateReads(testDb.db) };
    statements.reset();
    const verdicts = await Promise.all(
      phones.map((phone, i) => checkSend(gate, request(`conv-gate-batch-${i}`, phone), { key: `text-gate-batch-${i}`, text: 'Your balance is $10.' })),
    );
    // Three reads, and the opted-out text's recorded decision.
    expect(statements.total()).toBe(4);
    expect(verdicts.slice(0, 9)).toEqual(phones.slice(0, 9).map(() => ({ allowed: true, claimed: true })));
    expect(verdicts[9]).toEqual({ allowed: false, optedOut: true });
    const rows = await testDb.db.selectFrom('outbound_messages').select(['idempotency_key', 'status']).where('idempotency_key', 'like', 'text-gate-batch-%').orderBy('idempotency_key').execute();
    expect(rows).toEqual(phones.slice(0, 9).map((_, i) => ({ idempotency_key: `text-gate-batch-${i}`, status: 'sending' })));
  });

  it('when one text reaches the gate twice at the same moment (a retry beside its first run), then the two reads go in different statements: one claims it, the other finds it claimed', async () => {
    const phone = '+15550903601';
    const runtime = testRuntime(testDb.db);
    await fencedConversation('conv-gate-twice', phone, testDb.db, { runtime });
    await fencedConversation('conv-gate-first', '+15550903602', testDb.db, { runtime });
    const gate = { ...openGate(), reads: createGateReads(testDb.db, { maxInFlight: 1 }) };
    const message = { key: 'text-gate-twice', text: 'Your balance is $10.' };
    statements.reset();
    // Another text goes first, alone; the two reads of one key wait for it together.
    const first = checkSend(gate, request('conv-gate-first', '+15550903602'), { key: 'text-gate-first', text: 'Hello.' });
    const verdicts = await Promise.all([1, 2].map(() => checkSend(gate, request('conv-gate-twice', phone), message)));
    expect(await first).toEqual({ allowed: true, claimed: true });
    // One statement each: in one, both would claim a new row, which PostgreSQL refuses, and each would go again alone.
    expect(statements.total()).toBe(3);
    expect(verdicts.map((verdict) => verdict.allowed && verdict.claimed).sort()).toEqual([false, true]);
    expect(await outbound(message.key)).toEqual({ status: 'sending', attempts: 1, sms_agent_id: null });
  });
});

describe('a claim the gate gives back', () => {
  const request = (conversationId: string, phone: string) => ({ conversationId, phone, timeZone: 'America/Chicago', inReplyTo: null, kind: 'unsolicited' as const });

  it('when the gate claims a text and then holds it back (calling hours), then the claim is given back: held, counted by no cap, not in the timeline; the next attempt claims it again and it goes once, as a first attempt', async () => {
    const phone = '+15550904001';
    const conversationId = 'conv-held';
    const fence = await fencedConversation(conversationId, phone);
    const message = { key: 'draft-held', conversationId, phone, text: 'Your balance is $10.' };

    const closed = { ...openGate(), contactWindow: { ...DEFAULT_CONTACT_WINDOW, startHour: 0, endHour: 0 } };
    expect(await checkSend(closed, request(conversationId, phone), message)).toMatchObject({ allowed: false, optedOut: false });
    expect(await outbound(message.key)).toEqual({ status: 'held', attempts: 1, sms_agent_id: null });
    expect((await readSendFacts(testDb.db, { conversationId }, phone, Date.now())).sent).toEqual({ unsolicited: [], reply: [] });
    expect((await conversationTimeline(testDb.db, conversationId)).filter((entry) => entry.kind === 'message' && entry.direction === 'outbound')).toEqual([]);

    // Held again, then let through: claimed afresh (not an earlier try of unknown outcome, so the SMS Agent's history is not read).
    expect(await checkSend(closed, request(conversationId, phone), message)).toMatchObject({ allowed: false });
    expect(await checkSend(openGate(), request(conversationId, phone), message)).toEqual({ allowed: true, claimed: true });
    const historyReads = jest.spyOn(smsAgent, 'history');
    try {
      await deliverSms({ db: testDb.db, smsAgent, logger }, message, { fence, claimed: true });
      expect(historyReads).not.toHaveBeenCalled();
    } finally {
      historyReads.mockRestore();
    }
    expect(simulators.sms.sent.map((sent) => sent.body)).toEqual([message.text]);
    expect(await outbound(message.key)).toEqual({ status: 'accepted', attempts: 1, sms_agent_id: simulators.sms.sent[0]!.id });

    // A retry after that finds it accepted: nothing goes again.
    expect(await checkSend(openGate(), request(conversationId, phone), message)).toEqual({ allowed: true, claimed: false });
    await deliverSms({ db: testDb.db, smsAgent, logger }, message, { fence, claimed: false });
    expect(simulators.sms.sent).toHaveLength(1);
  });

  it('when an attempt of unknown outcome has been counted since the claim, then giving the claim back leaves the row as it is', async () => {
    const message = { key: 'draft-held-counted', conversationId: 'conv-held-counted', text: 'x', kind: 'reply' as const };
    expect(await claimOutbound(testDb.db, message)).toBe(true);
    await countAttempt(testDb.db, message.key);
    await giveBackClaim(testDb.db, message.key);
    expect(await outbound(message.key)).toEqual({ status: 'sending', attempts: 2, sms_agent_id: null });
  });
});

describe("the send path's prepared statements", () => {
  it("when the pool prepares statements (a process with a worker), then the send's reads, its claim and its acceptance are parsed once per connection and decide as before, past the point where PostgreSQL plans them generically", async () => {
    const pool = createPool(testDb.url, { max: 1, prepareStatements: true });
    const db = createDb(pool);
    try {
      // PostgreSQL plans a prepared statement afresh for its first five runs, then may keep a generic plan: seven sends.
      const sends = Array.from({ length: 7 }, (_, n) => ({ conversationId: `conv-prepared-${n}`, phone: `+1555090300${n}` }));
      const gate = { db, clock: () => Date.now(), contactWindow: { ...DEFAULT_CONTACT_WINDOW, startHour: 0, endHour: 24 } };
      for (const { conversationId, phone } of sends) {
        const fence = await fencedConversation(conversationId, phone, db);
        expect(await fence.isLive()).toBe(true);
        const request = { conversationId, phone, timeZone: 'America/Chicago', inReplyTo: null, kind: 'reply' as const };
        const message = { key: `draft-${conversationId}`, conversationId, phone, text: 'Your balance is $10.' };
        expect(await checkSend(gate, request, message)).toEqual({ allowed: true, claimed: true });
        await deliverSms({ db, smsAgent, logger }, message, { fence, claimed: true });
      }
      expect(simulators.sms.sent.map((sent) => sent.to)).toEqual(sends.map((send) => send.phone));

      // The same reads, now generic, still see what changed: an opt-out of the last number.
      const last = sends.at(-1)!;
      await recordOptOut(db, last.phone, last.conversationId);
      const request = { conversationId: last.conversationId, phone: last.phone, timeZone: 'America/Chicago', inReplyTo: null, kind: 'reply' as const };
      expect(await checkSend(gate, request, { key: `draft-${last.conversationId}-stopped`, text: 'Stopped.' })).toEqual({ allowed: false, optedOut: true });
      expect(await db.selectFrom('outbound_messages').select('status').where('idempotency_key', '=', `draft-${last.conversationId}-stopped`).execute()).toEqual([]);
      const again = `${last.conversationId}-again`;
      const fence = await fencedConversation(again, last.phone, db);
      await expect(deliverSms({ db, smsAgent, logger }, { key: `draft-${again}`, conversationId: again, phone: last.phone, text: 'Again.' }, { fence })).rejects.toMatchObject({ code: 'opted_out' });
      expect(simulators.sms.sent).toHaveLength(sends.length);

      // One connection: the statement below runs on the session that sent them.
      const { rows } = await pool.query<{ name: string }>(`select name from pg_prepared_statements where name not in ('read_conversations', 'write_events') order by name`);
      expect(rows.map((row) => row.name)).toEqual(['claim_outbound', 'live_tokens', 'live_tokens_shared_opt_out_checked', 'mark_outbound_accepted', 'send_facts_and_claims']);
    } finally {
      await db.destroy();
    }
  });
});
