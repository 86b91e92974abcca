import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { Draft } from '../../machines/conversation/conversation.types.js';
import { insertDraft } from '../../src/db/drafts.repository.js';
import type { EventEnvelope, Runtime } from '../../src/runtime/apply-event.js';
import { digestWords } from '../../src/runtime/audit-chain.js';
import { verifyChains } from '../../src/runtime/audit-verify.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeDraft } from '../helpers/fixtures.js';
import { queuedJobs } from '../helpers/jobs.js';

let testDb: TestDatabase;
let runtime: Runtime;

beforeAll(async () => {
  testDb = await createTestDatabase();
  runtime = testRuntime(testDb.db);
});
afterAll(() => testDb.drop());

const PHONE = '+15550001111';
let counter = 0;
const inbound = (conversationId: string, text: string): EventEnvelope => {
  const key = `sms-${++counter}`;
  return {
    conversationId,
    event: { type: 'sms.received', text, messageId: key, at: new Date().toISOString() },
    idempotencyKey: key,
    actor: 'service:sms-agent',
    create: { conversationId, tenantId: 'tenant-1', phone: PHONE },
    ifNotAccepted: 'record',
  };
};

async function draftAndApprove(conversationId: string): Promise<Draft> {
  await runtime.apply(inbound(conversationId, 'can I pay 50 a week? my number is 555-000-1111'));
  const [job] = (await queuedJobs(testDb.db, conversationId, 'invoke')).slice(-1);
  const output = makeDraft({ id: `draft-${++counter}`, confidence: 0.7 });
  await insertDraft(testDb.db, {
    id: output.id, conversationId, drafter: output.drafter, model: null, promptVersion: null, confidence: output.confidence,
    intents: output.intents, negotiation: null, reasons: [], rawText: null, text: output.text, reviewReason: null, usage: null, latencyMs: 1,
  });
  await runtime.apply({
    conversationId,
    event: { type: 'xstate.done.actor.drafter', output },
    idempotencyKey: `result:${job.payload.token}`,
    actor: 'worker',
    origin: { kind: 'invoke', id: 'drafter', token: job.payload.token },
    ifNotAccepted: 'record',
  });
  await runtime.apply({
    conversationId,
    event: { type: 'review.modified', approvalId: output.id, managerId: 'm-1', text: 'A manager wrote this. Reply STOP to opt out.' },
    idempotencyKey: `modify-${conversationId}`,
    actor: 'manager:m-1',
    ifNotAccepted: 'reject',
  });
  return output;
}

/** Runs `work` as a superuser who switched the audit triggers off for this transaction only. */
async function tamper(work: string) {
  await testDb.db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await sql.raw(work).execute(trx);
  });
}

describe('audit trail', () => {
  it('when events carry words, then each transition row holds a redacted summary and the digest of the words', async () => {
    const output = await draftAndApprove('c-words');
    const rows = await testDb.db.selectFrom('transitions').selectAll().where('conversation_id', '=', 'c-words').orderBy('seq').execute();
    const byType = (type: string) => rows.find((row) => row.event_type === type)!;
    expect(byType('sms.received').words_digest).toBe(digestWords(['can I pay 50 a week? my number is 555-000-1111']));
    expect(byType('xstate.done.actor.drafter').words_digest).toBe(digestWords([output.text]));
    expect(byType('review.modified').words_digest).toBe(digestWords([output.text, 'A manager wrote this. Reply STOP to opt out.']));
    expect(byType('xstate.done.actor.drafter').event_summary).toMatchObject({ draft: { id: output.id, intents: ['question'], confidence: 0.7 } });
    expect(byType('review.modified').event_summary).toEqual({ type: 'review.modified', approvalId: output.id, managerId: 'm-1', hasText: true });
    const everything = JSON.stringify(rows.map((row) => row.event_summary));
    expect(everything).not.toContain('555');
    expect(everything).not.toContain('a week');
    expect(everything).not.toContain('manager wrote');
    expect(await verifyChains(testDb.db, ['c-words'])).toEqual({ conversations: 1, rows: rows.length, breaks: [] });
  });

  it('when anyone updates the words of messages, drafts or outbound messages, then the database refuses, and other columns still change', async () => {
    await draftAndApprove('c-guard');
    await expect(sql`update messages set body = 'something else' where conversation_id = 'c-guard'`.execute(testDb.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from messages where conversation_id = 'c-guard'`.execute(testDb.db)).rejects.toThrow(/append-only/);
    await expect(sql`update drafts set text = 'x' where conversation_id = 'c-guard'`.execute(testDb.db)).rejects.toThrow(/keeps its words/);
    await expect(sql`update drafts set final_text = 'x' where conversation_id = 'c-guard'`.execute(testDb.db)).rejects.toThrow(/keeps its words/);
    await expect(sql`delete from drafts where conversation_id = 'c-guard'`.execute(testDb.db)).rejects.toThrow(/keeps its words/);
    await sql`update drafts set review_status = review_status where conversation_id = 'c-guard'`.execute(testDb.db);
    await sql`insert into outbound_messages (idempotency_key, conversation_id, body, status) values ('k-guard', 'c-guard', 'hello', 'sending')`.execute(testDb.db);
    await sql`update outbound_messages set status = 'accepted', sms_agent_id = 's-1' where idempotency_key = 'k-guard'`.execute(testDb.db);
    await expect(sql`update outbound_messages set body = 'other' where idempotency_key = 'k-guard'`.execute(testDb.db)).rejects.toThrow(/keeps its words/);
    await expect(sql`truncate outbound_messages`.execute(testDb.db)).rejects.toThrow(/append-only/);
  });

  it('when a superuser changes a transition row behind the triggers, then the verifier names the conversation and the row', async () => {
    await draftAndApprove('c-tamper');
    await draftAndApprove('c-intact');
    await tamper(`update transitions set actor = 'manager:someone-else' where conversation_id = 'c-tamper' and event_type = 'review.modified'`);
    const seq = (await testDb.db.selectFrom('transitions').select('seq').where('conversation_id', '=', 'c-tamper').where('event_type', '=', 'review.modified').executeTakeFirstOrThrow()).seq;
    const report = await verifyChains(testDb.db, ['c-tamper', 'c-intact']);
    expect(report.breaks).toEqual([{ conversationId: 'c-tamper', seq, problem: expect.stringMatching(/hash does not recompute.*actor manager:someone-else/) }]);
  });

  it('when a superuser rewrites an inbound message, a draft or a manager\'s decision, then the verifier names the row that vouched for its words', async () => {
    await draftAndApprove('c-msg');
    await tamper(`update messages set body = 'I never said that' where conversation_id = 'c-msg'`);
    const [msgBreak] = (await verifyChains(testDb.db, ['c-msg'])).breaks;
    expect(msgBreak).toMatchObject({ conversationId: 'c-msg', seq: 2, problem: expect.stringMatching(/messages\.body of inbound/) });

    const output = await draftAndApprove('c-draft');
    await tamper(`update drafts set text = 'We will sue you.' where id = '${output.id}'`);
    const [draftBreak] = (await verifyChains(testDb.db, ['c-draft'])).breaks;
    expect(draftBreak).toMatchObject({ conversationId: 'c-draft', problem: expect.stringMatching(new RegExp(`drafts\\.text of draft ${output.id}`)) });

    const decided = await draftAndApprove('c-decision');
    await tamper(`update approval_decisions set final_text = 'Something the manager never wrote.' where approval_id = '${decided.id}'`);
    const [decisionBreak] = (await verifyChains(testDb.db, ['c-decision'])).breaks;
    expect(decisionBreak).toMatchObject({ conversationId: 'c-decision', problem: expect.stringMatching(/approval_decisions of .* \(modified\)/) });
  });

  it('when a row is deleted or re-hashed to hide a change, then the chain break is still named', async () => {
    await draftAndApprove('c-gap');
    await tamper(`delete from transitions where conversation_id = 'c-gap' and seq = 2`);
    expect((await verifyChains(testDb.db, ['c-gap'])).breaks).toMatchObject([{ seq: 3, problem: expect.stringMatching(/a row is missing/) }]);

    await draftAndApprove('c-rehash');
    await tamper(`update transitions set hash = 'f00' where conversation_id = 'c-rehash' and seq = 2`);
    expect((await verifyChains(testDb.db, ['c-rehash'])).breaks).toMatchObject([{ seq: 2, problem: expect.stringMatching(/hash does not recompute/) }]);
  });

  it('when a reviewer reads the audit views, then a conversation reads as one timeline and a modified draft shows both texts', async () => {
    const output = await draftAndApprove('c-views');
    const { rows: timeline } = await sql<{ kind: string; what: string; text: string | null }>`
      select kind, what, text from audit.timeline where conversation_id = 'c-views' order by seq`.execute(testDb.db);
    expect(new Set(timeline.map((row) => row.kind))).toEqual(new Set(['transition', 'inbound_sms', 'draft', 'decision']));
    const { rows: decisions } = await sql<{ original_text: string; final_text: string; text_changed: boolean }>`
      select original_text, final_text, text_changed from audit.manager_decisions where conversation_id = 'c-views'`.execute(testDb.db);
    expect(decisions).toEqual([{ original_text: output.text, final_text: 'A manager wrote this. Reply STOP to opt out.', text_changed: true }]);
    const { rows: age } = await sql<{ state: string; entered_at: Date | null }>`
      select state, entered_at from audit.state_age where conversation_id = 'c-views' and in_state_for >= interval '0 seconds'`.execute(testDb.db);
    expect(age).toEqual([{ state: 'sending.handingOff', entered_at: expect.any(Date) }]);
    for (const view of ['compliance_holds', 'escalations_by_type', 'plan_instalments']) {
      await sql`select * from ${sql.raw(`audit.${view}`)}`.execute(testDb.db);
    }
  });

  it("when rows share a millisecond (an event's microsteps, its inbound text, what they wrote), then the timeline's seq orders them without ties, cause before effect", async () => {
    await runtime.apply(inbound('c-order', 'hello'));
    const before = await sql<{ seq: string }>`select seq from audit.timeline where conversation_id = 'c-order'`.execute(testDb.db);
    const last = (await testDb.db.selectFrom('transitions').select('seq').where('conversation_id', '=', 'c-order').orderBy('seq', 'desc').executeTakeFirstOrThrow()).seq;
    // One instant, as one event writes it (the transitions' clock is in milliseconds, the database's in
    // microseconds); inserted out of order, as concurrent statements may.
    const instant = '2030-01-01T00:00:00.000Z';
    await sql`insert into escalations (conversation_id, reason, opened_at) values ('c-order', 'staff', ${instant}::timestamptz + interval '400 microseconds')`.execute(testDb.db);
    for (const seq of [last + 2, last + 1]) {
      await sql`insert into transitions (conversation_id, seq, from_state, to_state, event_type, event_id, actor, at, hash)
        values ('c-order', ${seq}, 'a', ${`s${seq}`}, 'staff.escalate', 'k-order', 'manager:m', ${instant}, 'h')`.execute(testDb.db);
    }
    await sql`insert into messages (conversation_id, direction, body, event_id, at) values ('c-order', 'inbound', 'same instant', 'k-order', ${instant}::timestamptz + interval '300 microseconds')`.execute(testDb.db);

    const { rows: timeline } = await sql<{ seq: string; kind: string; what: string }>`
      select seq, kind, what from audit.timeline where conversation_id = 'c-order' order by seq`.execute(testDb.db);
    expect(timeline.map((row) => Number(row.seq))).toEqual(timeline.map((_, index) => index + 1));
    expect(timeline.slice(before.rows.length).map((row) => [row.kind, row.what])).toEqual([
      ['inbound_sms', 'inbound message'],
      ['transition', `a → s${last + 1} on staff.escalate`],
      ['transition', `a → s${last + 2} on staff.escalate`],
      ['escalation', 'staff, open'],
    ]);
  });

  it('when a Supabase-style anon role is granted the audit views, then they show it no rows (they read with the reader\'s rights)', async () => {
    await draftAndApprove('c-anon');
    const client = await testDb.pool.connect();
    try {
      await client.query(`do $$ begin create role anon nologin; exception when duplicate_object then null; end $$`);
      await client.query('grant usage on schema public, audit to anon');
      await client.query('grant select on all tables in schema public, audit to anon');
      await client.query('begin');
      await client.query('set local role anon');
      for (const view of ['timeline', 'manager_decisions', 'state_age']) {
        expect({ view, rows: (await client.query(`select * from audit.${view}`)).rowCount }).toEqual({ view, rows: 0 });
      }
      await client.query('rollback');
    } finally {
      client.release();
    }
  });
});
