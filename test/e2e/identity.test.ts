import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { simulatedTenant } from '../../src/simulators/collections-monitor.simulator.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Third parties (Reg F §1006.6(d)): account details go only to a number on the tenant's record or one a
 * manager verified. The simulated monitor lists `+1555123NNNN` for a tenant id ending in NNNN.
 */

let harness: TestOrchestrator;
beforeAll(async () => {
  // Every hour a calling hour: its acknowledgements are unsolicited texts, and the run must not depend on the hour.
  harness = await startTestOrchestrator({ IDENTITY_CHECK: 'on_record', AGENCY_NAME: 'Acme Recovery', CALLING_HOURS_START: '0', CALLING_HOURS_END: '24' });
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager', 'mia')}` });
const textsTo = (phone: string) => harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone).map((sms) => sms.body);

async function says(tenant: string, phone: string, content: string, messageId: string) {
  const response = await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .send({ tenant_id: tenant, phone_number: phone, content, message_id: messageId })
    .expect(202);
  return response.body.conversation_id as string;
}

describe('who may hear about the account', () => {
  it('when a number not on the record asks for the balance, then it gets the agency and a request to confirm identity, no amount', async () => {
    const phone = '+15550800001';
    const id = await says('tenant-9001', phone, 'Hi, what is my balance?', 'id-1');
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    const [reply] = await waitFor(() => textsTo(phone).length === 1 && textsTo(phone), 10_000, 'the reply');
    expect(reply).toMatch(/^Hi, this is Acme Recovery\. .*confirm it is you/);
    expect(reply).not.toMatch(/\$\d/);
    expect(reply).toMatch(/STOP/);
    const decisions = await harness.orchestrator.db.selectFrom('compliance_decisions').select(['rule', 'decision', 'detail']).where('conversation_id', '=', id).execute();
    expect(decisions).toEqual([{ rule: 'identity', decision: 'withheld', detail: 'withheld: unverified number' }]);
  });

  it('when an unverified number asks "who is this?", then it hears the sender name, never the balance', async () => {
    const phone = '+15550800002';
    const id = await says('tenant-9002', phone, 'Who is this?', 'id-2');
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    const [reply] = await waitFor(() => textsTo(phone).length === 1 && textsTo(phone), 10_000, 'the reply');
    expect(reply).toContain('Acme Recovery');
    expect(reply).not.toMatch(/\$\d|balance/i);
  });

  it('when a manager verifies the number, then the next reply may carry the balance', async () => {
    const phone = '+15550800003';
    const id = await says('tenant-9003', phone, 'Hi, what is my balance?', 'id-3');
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    await request(harness.url)
      .post(`/v1/conversations/${id}/events`)
      .set(manager())
      .set('Idempotency-Key', 'verify-3')
      .send({ type: 'identity.verified' })
      .expect(202);
    await request(harness.url).post(`/v1/conversations/${id}/events`).set(service()).set('Idempotency-Key', 'verify-3-svc').send({ type: 'identity.verified' }).expect(403);
    await says('tenant-9003', phone, 'ok so what do I owe?', 'id-4');
    const texts = await waitFor(() => textsTo(phone).length === 2 && textsTo(phone), 10_000, 'the second reply');
    expect(texts[1]).toMatch(/\$\d/);
    const view = (await request(harness.url).get(`/v1/conversations/${id}`).set(manager()).expect(200)).body;
    expect(view.compliance).toMatchObject({ identity_verified: true, caps_used: { replies_last_day: 2, unsolicited_last_day: 0, unsolicited_last_7_days: 0 } });
  });

  it('when the number is on the tenant record, then the reply carries the balance from the first text', async () => {
    const phone = '+15551239004';
    const id = await says('tenant-9004', phone, 'Hi, what is my balance?', 'id-5');
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    const [reply] = await waitFor(() => textsTo(phone).length === 1 && textsTo(phone), 10_000, 'the reply');
    expect(reply).toMatch(/Your balance is \$\d/);
  });
});

describe('identity as a task (no dead end for an unknown number)', () => {
  const monitorName = (tenant: string) => simulatedTenant(tenant).tenant_name;
  const escalationOf = async (id: string) => {
    const open = await request(harness.url).get('/v1/escalations?reason=identity_verification').set(manager()).expect(200);
    return open.body.items.find((item: { conversation_id: string }) => item.conversation_id === id);
  };

  it('when an unknown number gives a name, then it is told once that someone will confirm, a manager verifies it, and the debtor gets their answer', async () => {
    const phone = '+15550800011';
    const id = await says('tenant-9011', phone, 'Hi, what is my balance?', 'task-1');
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    await waitFor(() => textsTo(phone).length === 1, 10_000, 'the identity question');

    await says('tenant-9011', phone, "It's James Smith", 'task-2');
    await waitForState(harness.orchestrator, id, ['escalated']);
    const texts = await waitFor(() => textsTo(phone).length === 2 && textsTo(phone), 10_000, 'the we-will-confirm text');
    expect(texts[1]).toMatch(/^Thank you\. A member of our team will confirm your details and get back to you\. Acme Recovery is a debt collector/);
    expect(texts[1]).not.toMatch(/\$\d/);

    // The task: listed with the claimed name beside the names on record, and the managers are told.
    const task = await escalationOf(id);
    expect(task.identity_claim).toMatchObject({ claimed_name: 'James Smith', names_on_record: [monitorName('tenant-9011')] });
    const notice = await waitFor(
      () => harness.orchestrator.simulators!.notifications.received.find((n) => (n.metadata as { conversation_id?: string }).conversation_id === id && /James Smith/.test(n.content.body)),
      10_000,
      'the verification notification',
    );
    expect(notice.content.subject).toBe('Conversation escalated: identity_verification');

    await request(harness.url).post(`/v1/conversations/${id}/events`).set(manager()).set('Idempotency-Key', 'task-verify').send({ type: 'identity.verified' }).expect(202);
    const answered = await waitFor(() => textsTo(phone).length === 3 && textsTo(phone), 15_000, 'the answer');
    expect(answered[2]).toMatch(/balance is \$\d/);
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    expect(await escalationOf(id)).toBeUndefined();
  });

  it('when a manager rejects the claim, then the number gets one text, the conversation closes, and nothing more is sent', async () => {
    const phone = '+15550800012';
    const id = await says('tenant-9012', phone, 'hello?', 'task-3');
    await waitFor(() => textsTo(phone).length === 1, 10_000, 'the identity question');
    await says('tenant-9012', phone, 'my name is Bob', 'task-4');
    await waitFor(() => textsTo(phone).length === 2, 10_000, 'the we-will-confirm text');
    await request(harness.url).post(`/v1/conversations/${id}/events`).set(manager()).set('Idempotency-Key', 'task-reject').send({ type: 'identity.rejected' }).expect(202);
    await waitForState(harness.orchestrator, id, ['closed']);
    const texts = await waitFor(() => textsTo(phone).length === 3 && textsTo(phone), 15_000, 'the wrong-number text');
    expect(texts[2]).toMatch(/this number does not belong to the person we are looking for/);
    // The number writes again: recorded, never answered.
    await says('tenant-9012', phone, 'hello again', 'task-5');
    const status = (await request(harness.url).get(`/v1/conversations/${id}`).set(manager()).expect(200)).body;
    expect(status.state).toBe('closed');
    expect(textsTo(phone)).toHaveLength(3);
  });
});

describe('a dispute in everyday words', () => {
  it('when the debtor writes "This isn’t my debt", then it escalates as a dispute with one acknowledgement, and staff.resume waits for debt.verified', async () => {
    const phone = '+15551239021';
    const id = await says('tenant-9021', phone, 'This isn’t my debt', 'dispute-1');
    await waitForState(harness.orchestrator, id, ['escalated']);
    const status = (await request(harness.url).get(`/v1/conversations/${id}`).set(manager()).expect(200)).body;
    expect(status.context.escalation).toMatchObject({ reason: 'dispute' });
    const [ack] = await waitFor(() => textsTo(phone).length === 1 && textsTo(phone), 10_000, 'the acknowledgement');
    expect(ack).toMatch(/^We received your dispute\. We have paused collection of this account/);
    expect(ack).not.toMatch(/\$\d/);

    const event = (type: string, key: string) => request(harness.url).post(`/v1/conversations/${id}/events`).set(manager()).set('Idempotency-Key', key).send({ type });
    expect((await event('staff.resume', 'dispute-resume-1').expect(409)).body.error.code).toBe('event_not_allowed');
    await event('debt.verified', 'dispute-verified').expect(202);
    await event('staff.resume', 'dispute-resume-2').expect(202);
    // The acknowledgement answered the dispute: resumed, it waits for the debtor; nothing is drafted or sent again.
    await waitForState(harness.orchestrator, id, ['awaitingReply']);
    const drafts = await harness.orchestrator.db.selectFrom('drafts').select(['intents']).where('conversation_id', '=', id).execute();
    expect(drafts).toEqual([{ intents: ['dispute'] }]);
    expect(textsTo(phone)).toHaveLength(1);
  });
});
