import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { z } from 'zod';
import { ROUTES, type RouteSpec } from '../../src/http/routes.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * The collections dashboard's contract: each call with the dashboard's own body, and each field it reads.
 * Our own fields stay beside them (the other e2e tests hold those).
 */

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator();
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager')}` });
const WORDS = ['healthy', 'degraded', 'down'];

/** An inbound hardship text: the rules drafter queues it for a manager (confidence 0.70). */
async function pendingConversation(conversationId: string, phone: string) {
  await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .send({ tenant_id: 'tenant-dash', phone_number: phone, content: 'I lost my job last month', conversation_id: conversationId, message_id: `${conversationId}-1` })
    .expect(202);
  await waitForState(harness.orchestrator, conversationId, ['pendingApproval']);
}

describe('the collections dashboard contract', () => {
  it('when the dashboard asks for a workflow status, then it gets its fields and keeps ours', async () => {
    await pendingConversation('conv-dash-status', '+15550300001');
    const { body } = await request(harness.url).get('/orchestrate/workflow/conv-dash-status/status').set(manager()).expect(200);
    expect(body).toMatchObject({
      workflow_id: 'conv-dash-status',
      workflow_type: 'sms_conversation',
      status: 'processing',
      current_step: 'pendingApproval',
      ai_confidence: 0.7,
      escalation_triggered: false,
      // ours
      conversation_id: 'conv-dash-status',
      state: 'pendingApproval',
      machine_status: 'active',
    });
    expect(Number.isNaN(Date.parse(body.last_updated))).toBe(false);
  });

  it('when the dashboard approves by conversation and phone number, then the pending draft is decided and the answer says processed', async () => {
    await pendingConversation('conv-dash-approve', '+15550300002');
    const pending = await harness.orchestrator.db.selectFrom('drafts').select('id').where('conversation_id', '=', 'conv-dash-approve').where('review_status', '=', 'pending').executeTakeFirstOrThrow();
    const { body } = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager())
      .send({ conversation_id: 'conv-dash-approve', phone_number: '(555) 030-0002', action: 'approve', manager_id: 'manager-1' })
      .expect(202);
    expect(body).toMatchObject({ status: 'processed', action: 'approve', response_queue_id: pending.id, conversation_id: 'conv-dash-approve' });
    await waitForState(harness.orchestrator, 'conv-dash-approve', ['awaitingReply']);
  });

  it("when the phone number is not the conversation's, then 409 and the draft stays pending", async () => {
    await pendingConversation('conv-dash-wrong-phone', '+15550300003');
    const { body } = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager())
      .send({ conversation_id: 'conv-dash-wrong-phone', phone_number: '+15550300099', action: 'approve' })
      .expect(409);
    expect(body.error.code).toBe('conversation_mismatch');
    const row = await harness.orchestrator.db.selectFrom('drafts').select('review_status').where('conversation_id', '=', 'conv-dash-wrong-phone').executeTakeFirstOrThrow();
    expect(row.review_status).toBe('pending');
    await request(harness.url).post('/orchestrate/approve-response').set(manager()).send({ conversation_id: 'conv-dash-wrong-phone', action: 'approve' }).expect(400);
  });

  it('when the dashboard escalates, then it gets an escalation id and status created, and the status shows it', async () => {
    await pendingConversation('conv-dash-escalate', '+15550300004');
    const { body } = await request(harness.url)
      .post('/orchestrate/escalate')
      .set(manager())
      .send({ conversation_id: 'conv-dash-escalate', escalation_reason: 'debtor asked for a person', priority: 'high' })
      .expect(202);
    expect(body).toMatchObject({ status: 'created', escalation_id: expect.anything() });
    const status = await request(harness.url).get('/orchestrate/workflow/conv-dash-escalate/status').set(manager()).expect(200);
    expect(status.body).toMatchObject({ status: 'pending', current_step: 'escalated', escalation_triggered: true });
  });

  it('when a conversation is escalated a second time, then its one open case says what the second said, in the list and on the conversation alike', async () => {
    await pendingConversation('conv-dash-escalate-twice', '+15550300005');
    const first = await request(harness.url)
      .post('/orchestrate/escalate')
      .set(manager())
      .send({ conversation_id: 'conv-dash-escalate-twice', escalation_type: 'hardship', severity: 'low', reason: 'lost job' })
      .expect(202);
    const second = await request(harness.url)
      .post('/orchestrate/escalate')
      .set(manager())
      .send({ conversation_id: 'conv-dash-escalate-twice', escalation_type: 'attorney', severity: 'critical', reason: 'has a lawyer now' })
      .expect(202);
    expect(second.body).toMatchObject({ escalation_id: first.body.escalation_id, escalation_type: 'attorney', severity: 'critical' });

    const conversation = await request(harness.url).get('/v1/conversations/conv-dash-escalate-twice').set(manager()).expect(200);
    expect(conversation.body.context.escalation).toEqual({ reason: 'attorney', note: 'has a lawyer now', severity: 'critical' });
    const list = await request(harness.url).get('/v1/escalations?limit=200').set(manager()).expect(200);
    const open = list.body.items.filter((item: { conversation_id: string }) => item.conversation_id === 'conv-dash-escalate-twice');
    expect(open).toEqual([expect.objectContaining({ escalation_id: first.body.escalation_id, escalation_type: 'attorney', note: 'has a lawyer now', severity: 'critical' })]);
  });

  it('when the dashboard retries, then a failed conversation is retrying and any other is failed, with the workflow id and a message', async () => {
    harness.orchestrator.simulators!.sms.failNext(10, 400);
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .send({ tenant_id: 'tenant-dash', phone_number: '+15550300005', content: 'Hi, what is my balance?', conversation_id: 'conv-dash-retry', message_id: 'dash-retry-1' })
      .expect(202);
    await waitForState(harness.orchestrator, 'conv-dash-retry', ['failed']);
    const failed = await request(harness.url).get('/orchestrate/workflow/conv-dash-retry/status').set(manager()).expect(200);
    expect(failed.body.status).toBe('failed');
    harness.orchestrator.simulators!.sms.reset();

    const retried = await request(harness.url).post('/orchestrate/retry/conv-dash-retry').set(manager()).expect(202);
    expect(retried.body).toMatchObject({ workflow_id: 'conv-dash-retry', status: 'retrying', message: expect.any(String), conversation_id: 'conv-dash-retry' });

    await waitForState(harness.orchestrator, 'conv-dash-retry', ['awaitingReply']);
    const refused = await request(harness.url).post('/orchestrate/retry/conv-dash-retry').set(manager()).expect(409);
    expect(refused.body).toMatchObject({ workflow_id: 'conv-dash-retry', status: 'failed', message: expect.any(String), error: { code: 'event_not_allowed' } });
  });

  it('when the dashboard asks for dependencies, then each of its six is healthy, degraded or down, and ours stay', async () => {
    const { body } = await request(harness.url).get('/health/dependencies').set(service()).expect(200);
    for (const name of ['orchestrator', 'sms_agent', 'collections_monitor', 'notification_service', 'supabase', 'openai']) expect(WORDS).toContain(body[name]);
    expect(body).toMatchObject({ supabase: 'healthy', collections_monitor: 'healthy', notification_service: 'healthy', openai: 'healthy', database: 'up', drafter: 'rules' });
    expect(body.details.openai).toMatchObject({ status: 'not_configured' });
  });

  it('when the dashboard asks for metrics, then last hour and today are counted from the database, beside ours', async () => {
    const { body } = await waitFor(async () => {
      const response = await request(harness.url).get('/orchestrate/metrics').set(manager()).expect(200);
      return response.body.today.total_messages >= 6 ? response : false;
    }, 15_000, 'the replies to be counted');
    expect(body.last_hour).toEqual({
      sms_received: expect.any(Number),
      ai_responses: expect.any(Number),
      auto_approval_rate: expect.any(Number),
      avg_response_time: expect.any(Number),
    });
    expect(body.last_hour.sms_received).toBeGreaterThanOrEqual(5);
    expect(body.last_hour.ai_responses).toBeGreaterThanOrEqual(5);
    expect(body.last_hour.auto_approval_rate).toBeGreaterThan(0);
    expect(body.last_hour.auto_approval_rate).toBeLessThan(1);
    expect(body.last_hour.avg_response_time).toBeGreaterThanOrEqual(0);
    expect(body.today).toEqual({ total_messages: expect.any(Number), escalations: expect.any(Number), payment_plans: expect.any(Number) });
    expect(body.today.escalations).toBeGreaterThanOrEqual(1);
    expect(body).toMatchObject({ pending_approvals: expect.any(Number), transitions_last_24h: expect.any(Number), conversations_by_state: expect.any(Object) });
  });
});

/**
 * The replaced system's models declare its optional fields `Optional[...] = None`, so its callers send
 * `null` for a field they do not fill. Every optional field of every compatibility body (read from the zod
 * schemas, so a field added later is covered without touching this test) takes `null` and means absent.
 */
describe('null in the optional fields of the compatibility bodies', () => {
  const bodies = (Object.values(ROUTES) as RouteSpec[]).filter((route) => route.path.startsWith('/orchestrate/') && route.request?.body);
  const optionalFields = (route: RouteSpec) => {
    const schema = z.toJSONSchema(route.request!.body!, { io: 'input' }) as { properties: Record<string, unknown>; required?: string[] };
    return Object.keys(schema.properties).filter((field) => !(schema.required ?? []).includes(field));
  };

  let counter = 0;
  /** A conversation with a draft waiting for a manager, and a valid body that fills every optional field. */
  async function validBody(path: string): Promise<Record<string, unknown>> {
    counter += 1;
    const conversationId = `conv-null-${counter}`;
    const phone = `+1555031${String(counter).padStart(4, '0')}`;
    await pendingConversation(conversationId, phone);
    const draft = await harness.orchestrator.db.selectFrom('drafts').select('id').where('conversation_id', '=', conversationId).where('review_status', '=', 'pending').executeTakeFirstOrThrow();
    const byPath: Record<string, Record<string, unknown>> = {
      '/orchestrate/sms-received': { tenant_id: 'tenant-dash', phone_number: phone, content: 'thanks', conversation_id: conversationId, message_id: `${conversationId}-2` },
      '/orchestrate/approve-response': {
        response_queue_id: draft.id,
        conversation_id: conversationId,
        phone_number: phone,
        action: 'escalate',
        approved_text: 'unused with escalate',
        modified_text: 'unused with escalate',
        escalation_reason: 'needs a call',
        manager_id: 'mia',
      },
      '/orchestrate/escalate': {
        conversation_id: conversationId,
        workflow_id: conversationId,
        escalation_type: 'hardship',
        severity: 'high',
        priority: 'high',
        reason: 'lost job',
        escalation_reason: 'lost job',
      },
      '/orchestrate/payment-plan-detected': { conversation_id: conversationId, tenant_id: 'tenant-dash', message_content: 'I can pay $50 a week', ai_response: 'PAYMENT_PLAN: weekly=50, weeks=8' },
    };
    const body = byPath[path];
    if (!body) throw new Error(`no valid body for ${path}: add one here`);
    return body;
  }

  it('when the compatibility routes are listed, then each body has optional fields to try (the list is read from the schemas)', () => {
    expect(bodies.map((route) => route.path).sort()).toEqual(['/orchestrate/approve-response', '/orchestrate/escalate', '/orchestrate/payment-plan-detected', '/orchestrate/sms-received']);
    expect(optionalFields(ROUTES.paymentPlanDetected)).toEqual(['ai_response']);
    for (const route of bodies) expect(optionalFields(route).length).toBeGreaterThan(0);
  });

  it('when any one optional field of any compatibility body is null, then the call succeeds (2xx) as if the field were absent', async () => {
    const tried: string[] = [];
    for (const route of bodies) {
      for (const field of optionalFields(route)) {
        const body = { ...(await validBody(route.path)), [field]: null };
        const caller = route.auth !== 'none' && route.auth.includes('service') ? service() : { Authorization: `Bearer ${harness.token('manager', 'mia')}` };
        const response = await request(harness.url).post(route.path).set(caller).send(body);
        expect([route.path, field, response.status, response.body.error?.code]).toEqual([route.path, field, expect.any(Number), undefined]);
        expect(response.status).toBeGreaterThanOrEqual(200);
        expect(response.status).toBeLessThan(300);
        tried.push(`${route.path} ${field}`);
      }
    }
    expect(tried.length).toBeGreaterThanOrEqual(15);
  });
});

