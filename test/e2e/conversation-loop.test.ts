import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMachine } from 'xstate';
import { verifyChains } from '../../src/runtime/audit-verify.js';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { signToken } from '../../src/http/auth.js';
import { createRuntime } from '../../src/runtime/apply-event.js';
import { actionRouting } from '../../src/runtime/projections.js';
import { startTestOrchestrator, TEST_JWT_SECRET, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';
import { pendingApproval } from '../helpers/approvals.js';

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator();
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = (subject = 'manager-1') => ({ Authorization: `Bearer ${harness.token('manager', subject)}` });

async function transitions(conversationId: string) {
  const response = await request(harness.url).get(`/v1/conversations/${conversationId}/transitions`).set(service()).expect(200);
  return (response.body.transitions as Array<{ from_state: string | null; to_state: string; event_type: string; actor: string }>).map(
    (row) => `${row.from_state ?? '∅'}→${row.to_state}`,
  );
}

describe('a conversation end to end (real HTTP, real Postgres, worker, simulators, rules drafter)', () => {
  it('when a debtor asks a plain question, then the reply goes out on its own and the conversation awaits the next reply', async () => {
    const response = await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .set('Idempotency-Key', 'msg-loop-1')
      .send({ tenant_id: 'tenant-42', phone_number: '+15550100001', content: 'Hi, what is my balance?', conversation_id: 'conv-loop-1' })
      .expect(202);
    expect(response.body).toMatchObject({ conversation_id: 'conv-loop-1', state: 'drafting', duplicate: false });

    await waitForState(harness.orchestrator, 'conv-loop-1', ['awaitingReply']);
    const sent = harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === '+15550100001');
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toMatch(/debt collector/i);
    expect(sent[0].body).toMatch(/STOP/);
    // The first text of the thread names the agency and carries the full notice.
    expect(sent[0].body).toMatch(/Acme Recovery is a debt collector attempting to collect a debt/);

    expect(await transitions('conv-loop-1')).toEqual(['∅→idle', 'idle→drafting', 'drafting→sending.handingOff', 'sending.handingOff→sent', 'sent→awaitingReply']);
    const status = await request(harness.url).get('/orchestrate/workflow/conv-loop-1/status').set(manager()).expect(200);
    expect(status.body).toMatchObject({
      workflow_id: 'conv-loop-1',
      state: 'awaitingReply',
      pending_timers: ['timer.no_reply'],
      context: { sent_count: 1, draft: { drafter: 'rules', model: null } },
    });
    expect(status.body.allowed_events).toEqual(expect.arrayContaining(['sms.received', 'staff.escalate', 'staff.close']));
    // A process with a worker remembers the conversations it writes (its next event skips a read).
    expect(harness.orchestrator.runtime.remembers('conv-loop-1')).toBe(true);
  });

  it('when the process that committed a text dies before announcing its job, then the worker still finds the job at its poll', async () => {
    // A runtime with no announcer commits the job and tells no one, as a process killed right after its commit would.
    const silent = createRuntime({ db: harness.orchestrator.db, machine: harness.orchestrator.runtime.machine, actions: actionRouting });
    await silent.apply({
      conversationId: 'conv-unannounced',
      event: { type: 'sms.received', text: 'Hi, what is my balance?', messageId: 'unannounced-1', at: new Date().toISOString() },
      idempotencyKey: 'unannounced-1',
      actor: 'service:sms-agent',
      create: { conversationId: 'conv-unannounced', tenantId: 'tenant-42', phone: '+15550100077' },
      ifNotAccepted: 'record',
    });
    await waitForState(harness.orchestrator, 'conv-unannounced', ['awaitingReply'], 15_000);
    expect(harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === '+15550100077')).toHaveLength(1);
  });

  it('when a debtor proposes a plan a manager must approve, then the manager is notified, modifies the draft, and the modified text is what goes out', async () => {
    // Eight weeks is longer than the policy lets code agree alone (four): the offer waits for a manager.
    harness.orchestrator.simulators!.monitor.setTenant('tenant-7', { amount_owed: '750.00', failed_payment_plans: 0 });
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .set('Idempotency-Key', 'msg-plan-1')
      .send({ tenant_id: 'tenant-7', phone_number: '+15550100002', content: 'I can pay $100 a week for 8 weeks', conversation_id: 'conv-plan-1' })
      .expect(202);
    await waitForState(harness.orchestrator, 'conv-plan-1', ['pendingApproval']);

    const notification = await waitFor(
      () => harness.orchestrator.simulators!.notifications.received.find((n) => (n.metadata as { conversation_id?: string }).conversation_id === 'conv-plan-1'),
      10_000,
      'the manager notification',
    );
    const item = (await pendingApproval(harness.url, manager(), 'conv-plan-1'))!;
    expect(item).toMatchObject({
      status: 'pending',
      draft: { drafter: 'rules', intents: expect.arrayContaining(['payment_plan']) },
      conversation: { debtor_messages: [{ text: 'I can pay $100 a week for 8 weeks' }], last_sent_text: null, sent_count: 0, language: 'en' },
    });
    expect((notification.metadata as { response_queue_id: string }).response_queue_id).toBe(item.response_queue_id);

    // The agency is named: with AGENCY_NAME (here the development default) every text must carry it.
    const modified = 'Acme Recovery is a debt collector. $100 a week for 8 weeks works, from Dec 2. Reply YES to agree. Reply STOP to opt out.';
    await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager('manager-9'))
      .send({ response_queue_id: item.response_queue_id, action: 'modify', modified_text: modified, manager_id: 'manager-9' })
      .expect(202);
    // The text still offers the plan: the conversation waits for the debtor's yes.
    await waitForState(harness.orchestrator, 'conv-plan-1', ['negotiating.awaitingConfirmation']);

    const sent = harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === '+15550100002');
    expect(sent.map((sms) => sms.body)).toEqual([modified]);
    const decided = await request(harness.url).get('/v1/approvals?status=modified').set(manager()).expect(200);
    expect(decided.body.items.find((entry: { response_queue_id: string }) => entry.response_queue_id === item.response_queue_id)).toMatchObject({
      reviewer: 'manager-9',
      final_text: modified,
    });
    const trail = await request(harness.url).get('/v1/conversations/conv-plan-1/transitions').set(manager()).expect(200);
    expect(trail.body.transitions.find((row: { to_state: string }) => row.to_state === 'sending.handingOff')).toMatchObject({
      from_state: 'pendingApproval',
      event_type: 'review.modified',
      actor: 'manager:manager-9',
    });
  });

  it('when the same inbound SMS is posted 20 times at once, then it makes one transition and one reply', async () => {
    const post = () =>
      request(harness.url)
        .post('/orchestrate/sms-received')
        .set(service())
        .set('Idempotency-Key', 'msg-burst-1')
        .send({ tenant_id: 'tenant-9', phone_number: '+15550100003', content: 'Hello, can you call me?', conversation_id: 'conv-burst-1' });
    const responses = await Promise.all(Array.from({ length: 20 }, post));
    expect(responses.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 202]);
    expect(new Set(responses.map((r) => r.body.version))).toEqual(new Set([1]));

    await waitForState(harness.orchestrator, 'conv-burst-1', ['awaitingReply']);
    const trail = await transitions('conv-burst-1');
    expect(trail.filter((step) => step === 'idle→drafting')).toHaveLength(1);
    expect(harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === '+15550100003')).toHaveLength(1);
  });
});

describe('the HTTP edge', () => {
  it('when no or a bad token is sent, then 401; health stays public', async () => {
    await request(harness.url).get('/v1/conversations/x').expect(401);
    await request(harness.url).get('/v1/conversations/x').set('Authorization', 'Bearer not-a-token').expect(401);
    const forged = signToken('another-secret-0123456789abcdef0123456789', 'manager', 'mallory');
    await request(harness.url).get('/v1/conversations/x').set('Authorization', `Bearer ${forged}`).expect(401);
    const expired = signToken(TEST_JWT_SECRET, 'manager', 'late', '-1s');
    await request(harness.url).get('/v1/conversations/x').set('Authorization', `Bearer ${expired}`).expect(401);
    const wrongRole = jwt.sign({ role: 'admin' }, TEST_JWT_SECRET, { subject: 'root', algorithm: 'HS256' });
    await request(harness.url).get('/v1/conversations/x').set('Authorization', `Bearer ${wrongRole}`).expect(401);
    const health = await request(harness.url).get('/health').expect(200);
    expect(health.body).toEqual({ status: 'ok', database: 'up' });
  });

  it('when the body is malformed, then 400 with a machine-readable code and request id, and nothing is written', async () => {
    const response = await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .send({ tenant_id: 't', phone_number: 'not a phone', content: '' })
      .expect(400);
    expect(response.body).toMatchObject({ error: { code: 'invalid_request' }, request_id: expect.any(String) });
    expect(response.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['content', 'phone_number']);
    const broken = await request(harness.url).post('/orchestrate/sms-received').set(service()).set('Content-Type', 'application/json').send('{"oops"');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_json');
    const count = await harness.orchestrator.db.selectFrom('inbox').select((eb) => eb.fn.countAll<number>().as('n')).where('conversation_id', '=', 'x').executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('when a role may not send an event, then 403; unknown conversation 404; illegal event 409', async () => {
    await request(harness.url)
      .post('/v1/conversations/conv-loop-1/events')
      .set(service())
      .set('Idempotency-Key', 'k-role')
      .send({ type: 'staff.close' })
      .expect(403);
    await request(harness.url).post('/v1/conversations/nobody/events').set(manager()).set('Idempotency-Key', 'k-404').send({ type: 'staff.close' }).expect(404);
    const illegal = await request(harness.url)
      .post('/v1/conversations/conv-loop-1/events')
      .set(manager())
      .set('Idempotency-Key', 'k-409')
      .send({ type: 'retry' })
      .expect(409);
    expect(illegal.body.error).toMatchObject({ code: 'event_not_allowed', details: { state: 'awaitingReply' } });
    await request(harness.url).post('/v1/conversations/conv-loop-1/events').set(manager()).send({ type: 'staff.close' }).expect(400);
  });

  it('when a manager closes a conversation through the native API, then the trail shows who did it', async () => {
    const response = await request(harness.url)
      .post('/v1/conversations/conv-loop-1/events')
      .set(manager('manager-2'))
      .set('Idempotency-Key', 'close-1')
      .send({ type: 'staff.close', reason: 'paid by phone' })
      .expect(202);
    expect(response.body).toMatchObject({ state: 'closed', outcome: 'applied' });
    const view = await request(harness.url).get('/v1/conversations/conv-loop-1').set(manager()).expect(200);
    expect(view.body).toMatchObject({ state: 'closed', status: 'done', allowed_events: [], pending_timers: [] });
  });

  it('when a tool asks for the machine, then it gets its states, events, version and diagram', async () => {
    const response = await request(harness.url).get('/v1/machine').set(manager()).expect(200);
    expect(response.body).toMatchObject({ id: 'conversation', initial: 'idle', version: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(response.body.states.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['awaitingReply', 'drafting', 'pendingApproval', 'sending', 'sent', 'planAgreed', 'escalated', 'optedOut', 'closed', 'failed']),
    );
    expect(response.body.states.filter((s: { final: boolean }) => s.final).map((s: { name: string }) => s.name).sort()).toEqual(['closed', 'optedOut']);
    expect(response.body.events).toEqual(expect.arrayContaining(['sms.received', 'review.approved', 'retry']));
    expect(response.body.mermaid).toMatch(/^stateDiagram-v2/);
    // A definition createMachine (and Stately Studio) reads back, with an initial state.
    expect(createMachine(response.body.definition).getInitialSnapshot(null as never).value).toBe('idle');
  });

  it('when real conversations have run (worker, sender, a manager\'s modification), then every audit chain and the words it vouches for verify', async () => {
    const report = await verifyChains(harness.orchestrator.db);
    expect(report.conversations).toBeGreaterThan(0);
    expect(report.breaks).toEqual([]);
    const types = await harness.orchestrator.db.selectFrom('transitions').select('event_type').where('words_digest', 'is not', null).distinct().execute();
    expect(types.map((t) => t.event_type)).toEqual(expect.arrayContaining(['sms.received', 'xstate.done.actor.drafter', 'review.modified', 'xstate.done.actor.sender']));
  });

  it('when Prometheus scrapes, then the event and transition counters are there without personal data', async () => {
    const response = await request(harness.url).get('/metrics').set(service()).expect(200);
    expect(response.text).toMatch(/orchestrator_events_total\{event_type="sms.received",outcome="applied"\} \d+/);
    expect(response.text).toMatch(/orchestrator_transitions_total\{from="sending",to="sent"\}/);
    expect(response.text).not.toMatch(/\+1555/);
  });
});
