import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import request from 'supertest';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';
import { pendingApproval } from '../helpers/approvals.js';

/** Opt-outs that hold, over real HTTP: whatever format the number is typed in, and whoever recorded it. */

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator();
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager', 'mia')}` });
const textsTo = (e164: string) => harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === e164).map((sms) => sms.body);

async function inbound(tenant: string, phone: string, content: string, messageId: string, conversationId?: string) {
  const response = await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .send({ tenant_id: tenant, phone_number: phone, content, message_id: messageId, ...(conversationId ? { conversation_id: conversationId } : {}) })
    .expect(202);
  return response.body.conversation_id as string;
}

describe('opt-outs that hold', () => {
  it('when a STOP comes in one number format, then texts from the same phone in other formats get nothing more', async () => {
    const first = await inbound('tenant-stop-a', '+1 (555) 000-3000', 'Stop please', 'stop-1');
    await waitForState(harness.orchestrator, first, ['optedOut']);
    await waitFor(() => textsTo('+15550003000').length === 1, 10_000, 'the one confirmation');
    // The confirmation names the sender and says nothing else.
    expect(textsTo('+15550003000')[0]).toBe('Acme Recovery: you have been unsubscribed and will receive no more texts from us.');

    // Other conversations of the same tenant (an opt-out binds the tenant that heard it: docs/compliance.md).
    const second = await inbound('tenant-stop-a', '15550003000', 'Hi, what is my balance?', 'stop-2', 'conv-stop-a-2');
    const third = await inbound('tenant-stop-a', '+15550003000', 'hello?', 'stop-3', 'conv-stop-a-3');
    await waitForState(harness.orchestrator, second, ['failed', 'awaitingReply']);
    await waitForState(harness.orchestrator, third, ['failed', 'awaitingReply']);
    // Only the confirmation ever went out; the later sends were refused at the send-time gate.
    expect(textsTo('+15550003000')).toHaveLength(1);
    const suppressed = await request(harness.url).get('/v1/compliance/suppressions').set(manager()).expect(200);
    expect(suppressed.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ phone_number: '+15550003000', source: 'debtor' })]));
    const view = (await request(harness.url).get(`/v1/conversations/${second}`).set(manager()).expect(200)).body;
    expect(view.compliance).toMatchObject({ opted_out: true, last_decision: { rule: 'opt_out', decision: 'blocked', detail: 'blocked: opted out' } });
  });

  it('when a STOP arrives while a draft waits for approval, then the draft is cancelled and approving it is a 409 opted_out', async () => {
    const conversationId = await inbound('tenant-stop-d', '+15550003001', 'I lost my job last month', 'stop-4');
    await waitForState(harness.orchestrator, conversationId, ['pendingApproval']);
    const item = (await pendingApproval(harness.url, manager(), conversationId))!;
    await inbound('tenant-stop-d', '+15550003001', 'STOP', 'stop-5', conversationId);
    await waitForState(harness.orchestrator, conversationId, ['optedOut']);
    const refused = await request(harness.url).post('/orchestrate/approve-response').set(manager()).send({ response_queue_id: item.response_queue_id, action: 'approve' }).expect(409);
    expect(refused.body.error).toMatchObject({ code: 'opted_out', details: { status: 'superseded' } });
    await waitFor(() => textsTo('+15550003001').length === 1, 10_000, 'the confirmation');
    expect(textsTo('+15550003001')[0]).not.toMatch(/job|week/);
  });

  it('when an opted-out number texts START, then the opt-out is lifted and recorded, and other conversations may text it again', async () => {
    const stopped = await inbound('tenant-optin-a', '+15550003003', 'STOP', 'optin-1');
    await waitForState(harness.orchestrator, stopped, ['optedOut']);
    await waitFor(() => textsTo('+15550003003').length === 1, 10_000, 'the confirmation');
    // Something else from the number changes nothing; START (in another format of the number) lifts it.
    await inbound('tenant-optin-a', '+15550003003', 'hello?', 'optin-2', stopped);
    expect((await request(harness.url).get(`/v1/conversations/${stopped}`).set(manager()).expect(200)).body.compliance.opted_out).toBe(true);
    await inbound('tenant-optin-a', '(555) 000-3003', 'Start', 'optin-3', stopped);
    const view = (await request(harness.url).get(`/v1/conversations/${stopped}`).set(manager()).expect(200)).body;
    expect(view).toMatchObject({ state: 'optedOut', compliance: { opted_out: false, last_decision: { rule: 'opt_in', decision: 'recorded' } } });

    const other = await inbound('tenant-optin-b', '+15550003003', 'Hi, what is my balance?', 'optin-4');
    await waitForState(harness.orchestrator, other, ['awaitingReply']);
    expect(textsTo('+15550003003')).toHaveLength(2);
  });

  it('when START comes as an event that names only the conversation, then its number is looked up and the opt-out lifted', async () => {
    const stopped = await inbound('tenant-optin-c', '+15550003004', 'STOP', 'optin-5');
    await waitForState(harness.orchestrator, stopped, ['optedOut']);
    const start = (key: string, text: string) =>
      request(harness.url).post(`/v1/conversations/${stopped}/events`).set(service()).set('Idempotency-Key', key).send({ type: 'sms.received', text }).expect(202);
    await start('optin-6', 'who is this?');
    expect((await request(harness.url).get(`/v1/conversations/${stopped}`).set(manager()).expect(200)).body.compliance.opted_out).toBe(true);
    await start('optin-7', 'UNSTOP');
    const view = (await request(harness.url).get(`/v1/conversations/${stopped}`).set(manager()).expect(200)).body;
    expect(view.compliance).toMatchObject({ opted_out: false, last_decision: { rule: 'opt_in', decision: 'recorded' } });
  });

  it('when a manager suppresses a number, then it is listed and nothing is sent to it', async () => {
    const added = await request(harness.url).post('/v1/compliance/suppressions').set(manager()).send({ phone_number: '(555) 000-3002', reason: 'asked by letter' }).expect(201);
    expect(added.body).toEqual({ phone_number: '+15550003002', suppressed: true, created: true });
    await request(harness.url).post('/v1/compliance/suppressions').set(manager()).send({ phone_number: '+15550003002' }).expect(200);
    await request(harness.url).post('/v1/compliance/suppressions').set(service()).send({ phone_number: '+15550003002' }).expect(403);
    await request(harness.url).post('/v1/compliance/suppressions').set(manager()).send({ phone_number: '(((((' }).expect(400);

    const conversationId = await inbound('tenant-stop-e', '+15550003002', 'Hi, what is my balance?', 'stop-6');
    await waitForState(harness.orchestrator, conversationId, ['failed', 'awaitingReply']);
    expect(textsTo('+15550003002')).toEqual([]);
    const listed = await request(harness.url).get('/v1/compliance/suppressions').set(manager()).expect(200);
    expect(listed.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ phone_number: '+15550003002', source: 'manager', added_by: 'mia', reason: 'asked by letter' })]));
  });
});

/**
 * The database refuses the next write of `operation` to opt_outs once (a fault at that one step, after the
 * inbound text itself was applied), then lets writes through; undone by the function returned.
 */
async function failNextOptOutWrite(operation: 'insert' | 'delete') {
  const db = harness.orchestrator.db;
  await sql.raw(`create sequence test_opt_out_fault;
    create function test_opt_out_fault() returns trigger language plpgsql as $$
    begin
      if nextval('test_opt_out_fault') = 1 then raise exception 'injected: the opt-out write fails once'; end if;
      return coalesce(new, old);
    end $$;
    create trigger test_opt_out_fault before ${operation} on opt_outs for each row execute function test_opt_out_fault();`).execute(db);
  return () => sql.raw('drop trigger test_opt_out_fault on opt_outs; drop function test_opt_out_fault(); drop sequence test_opt_out_fault;').execute(db);
}

describe('consent keywords whose answer was lost', () => {
  const optedOut = async (conversationId: string) =>
    (await request(harness.url).get(`/v1/conversations/${conversationId}`).set(manager()).expect(200)).body.compliance.opted_out as boolean;
  /** The SMS Agent's call whose text is applied but whose keyword step fails: a 5xx, which it will retry. */
  async function failingOnce(operation: 'insert' | 'delete', tenant: string, phone: string, content: string, messageId: string, conversationId: string) {
    const restore = await failNextOptOutWrite(operation);
    try {
      const response = await request(harness.url)
        .post('/orchestrate/sms-received')
        .set(service())
        .send({ tenant_id: tenant, phone_number: phone, content, message_id: messageId, conversation_id: conversationId });
      expect(response.status).toBeGreaterThanOrEqual(500);
    } finally {
      await restore();
    }
  }

  /** The SMS Agent's retry of a text already applied: answered as the first time was meant to be (200, a duplicate). */
  const retry = (tenant: string, phone: string, content: string, messageId: string, conversationId: string) =>
    request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .send({ tenant_id: tenant, phone_number: phone, content, message_id: messageId, conversation_id: conversationId })
      .expect(200);

  it('when a STOP to an escalated conversation is applied but recording the opt-out fails, then the retry of the same text records it', async () => {
    const conversationId = await inbound('tenant-retry-a', '+15550003010', 'Hi, what is my balance?', 'retry-a-1');
    await waitForState(harness.orchestrator, conversationId, ['awaitingReply']);
    await request(harness.url)
      .post(`/v1/conversations/${conversationId}/events`)
      .set(manager())
      .set('Idempotency-Key', 'retry-a-escalate')
      .send({ type: 'staff.escalate', reason: 'calling them' })
      .expect(202);
    await waitForState(harness.orchestrator, conversationId, ['escalated']);
    // With a person, the machine only keeps the text: the keyword step is the one place its STOP is recorded.
    await failingOnce('insert', 'tenant-retry-a', '+15550003010', 'STOP', 'retry-a-2', conversationId);
    expect(await optedOut(conversationId)).toBe(false);
    await retry('tenant-retry-a', '+15550003010', 'STOP', 'retry-a-2', conversationId);
    expect(await optedOut(conversationId)).toBe(true);
  });

  it('when a START is applied but lifting the opt-out fails, then its retry lifts it, unless the debtor texted STOP again in between', async () => {
    const plain = await inbound('tenant-retry-b', '+15550003011', 'STOP', 'retry-b-1');
    const again = await inbound('tenant-retry-c', '+15550003012', 'STOP', 'retry-c-1');
    await waitForState(harness.orchestrator, plain, ['optedOut']);
    await waitForState(harness.orchestrator, again, ['optedOut']);

    await failingOnce('delete', 'tenant-retry-b', '+15550003011', 'START', 'retry-b-2', plain);
    expect(await optedOut(plain)).toBe(true);
    await retry('tenant-retry-b', '+15550003011', 'START', 'retry-b-2', plain);
    expect(await optedOut(plain)).toBe(false);

    await failingOnce('delete', 'tenant-retry-c', '+15550003012', 'START', 'retry-c-2', again);
    await inbound('tenant-retry-c', '+15550003012', 'Stop texting me', 'retry-c-3', again);
    await retry('tenant-retry-c', '+15550003012', 'START', 'retry-c-2', again);
    expect(await optedOut(again)).toBe(true);
  });
});
