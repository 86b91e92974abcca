import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
