import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/** The manager approval queue over real HTTP: identity, conflicts, races, compliance, paging, the SLA. */

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator();
});
afterAll(() => harness.stop());

const service = (h: TestOrchestrator) => ({ Authorization: `Bearer ${h.token('service')}` });
const manager = (h: TestOrchestrator, subject = 'manager-1') => ({ Authorization: `Bearer ${h.token('manager', subject)}` });

let phoneCounter = 0;
/** An inbound hardship message: the rules drafter routes it to approval (confidence 0.7). */
async function pendingApproval(h: TestOrchestrator, conversationId: string): Promise<string> {
  phoneCounter += 1;
  await request(h.url)
    .post('/orchestrate/sms-received')
    .set(service(h))
    .set('Idempotency-Key', `${conversationId}-msg`)
    .send({ tenant_id: 'tenant-a', phone_number: `+1555020${String(phoneCounter).padStart(4, '0')}`, content: 'I lost my job last month', conversation_id: conversationId })
    .expect(202);
  await waitForState(h.orchestrator, conversationId, ['pendingApproval']);
  const row = await h.orchestrator.db
    .selectFrom('drafts')
    .select('id')
    .where('conversation_id', '=', conversationId)
    .where('review_status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('approving drafts', () => {
  it('when the body names another manager than the token, then 403 and the item stays pending', async () => {
    const id = await pendingApproval(harness, 'conv-ap-403');
    const response = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager(harness, 'alice'))
      .send({ response_queue_id: id, action: 'approve', manager_id: 'bob' })
      .expect(403);
    expect(response.body.error.code).toBe('manager_mismatch');
    expect(await waitForState(harness.orchestrator, 'conv-ap-403', ['pendingApproval'])).toBe('pendingApproval');
  });

  it('when a service token tries to decide, then 403', async () => {
    const id = await pendingApproval(harness, 'conv-ap-role');
    await request(harness.url).post('/orchestrate/approve-response').set(service(harness)).send({ response_queue_id: id, action: 'approve' }).expect(403);
  });

  it('when an item was already decided, then deciding it again is a 409', async () => {
    const id = await pendingApproval(harness, 'conv-ap-409');
    await request(harness.url).post('/orchestrate/approve-response').set(manager(harness)).send({ response_queue_id: id, action: 'approve' }).expect(202);
    const again = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager(harness, 'manager-2'))
      .send({ response_queue_id: id, action: 'escalate', escalation_reason: 'changed my mind' })
      .expect(409);
    expect(again.body.error.code).toBe('already_decided');
    await waitForState(harness.orchestrator, 'conv-ap-409', ['awaitingReply']);
  });

  it('when two managers decide the same item at once, then exactly one wins and one text goes out', async () => {
    const id = await pendingApproval(harness, 'conv-ap-race');
    const decide = (subject: string, action: 'approve' | 'escalate') =>
      request(harness.url).post('/orchestrate/approve-response').set(manager(harness, subject)).send({ response_queue_id: id, action });
    const results = await Promise.all([decide('alice', 'approve'), decide('bob', 'escalate'), decide('carol', 'approve'), decide('dave', 'escalate')]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409, 409]);
    const winner = results.find((r) => r.status === 202)!;
    const final = await waitForState(harness.orchestrator, 'conv-ap-race', ['awaitingReply', 'escalated']);
    expect(final).toBe(winner.body.action === 'approve' ? 'awaitingReply' : 'escalated');
    const decided = await harness.orchestrator.db.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(['alice', 'bob', 'carol', 'dave']).toContain(decided.reviewer);
    const trail = await harness.orchestrator.db.selectFrom('transitions').select('event_type').where('conversation_id', '=', 'conv-ap-race').execute();
    expect(trail.filter((row) => row.event_type.startsWith('review.'))).toHaveLength(1);
  });

  it('when a modified text fails compliance, then 422 naming the violations and nothing changes', async () => {
    const id = await pendingApproval(harness, 'conv-ap-422');
    const response = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager(harness))
      .send({ response_queue_id: id, action: 'modify', modified_text: 'Pay now or we will have you arrested.' })
      .expect(422);
    expect(response.body.error.code).toBe('compliance_violation');
    expect(response.body.error.details.violations.map((v: { code: string }) => v.code)).toEqual(
      expect.arrayContaining(['missing_disclosure', 'missing_opt_out', 'banned_phrase']),
    );
    const row = await harness.orchestrator.db.selectFrom('drafts').select('review_status').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.review_status).toBe('pending');
  });

  it('when a manager escalates, then a person owns the conversation and the decision is on record', async () => {
    const id = await pendingApproval(harness, 'conv-ap-esc');
    await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager(harness, 'erin'))
      .send({ response_queue_id: id, action: 'escalate', escalation_reason: 'debtor sounds distressed', manager_id: 'erin' })
      .expect(202);
    await waitForState(harness.orchestrator, 'conv-ap-esc', ['escalated']);
    const row = await harness.orchestrator.db.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ review_status: 'escalated', reviewer: 'erin', decision_reason: 'debtor sounds distressed', final_text: null });
    expect(row.decided_at).not.toBeNull();
    const escalation = await harness.orchestrator.db.selectFrom('escalations').selectAll().where('conversation_id', '=', 'conv-ap-esc').executeTakeFirstOrThrow();
    expect(escalation).toMatchObject({ reason: 'manager', note: 'debtor sounds distressed' });
  });

  it('when a manager retries a decision with the same Idempotency-Key, then the first answer comes back', async () => {
    const id = await pendingApproval(harness, 'conv-ap-retry');
    const decide = () =>
      request(harness.url).post('/orchestrate/approve-response').set(manager(harness)).set('Idempotency-Key', 'decide-once').send({ response_queue_id: id, action: 'approve' });
    const first = await decide().expect(202);
    const second = await decide().expect(200);
    expect(second.body).toEqual({ ...first.body, duplicate: true });
  });

  it('when staff closes or escalates a conversation with a queued draft, then the item is withdrawn, not left pending', async () => {
    const id = await pendingApproval(harness, 'conv-ap-close');
    await request(harness.url)
      .post('/v1/conversations/conv-ap-close/events')
      .set(manager(harness, 'frank'))
      .set('Idempotency-Key', 'close-while-pending')
      .send({ type: 'staff.escalate', reason: 'calling them' })
      .expect(202);
    const row = await harness.orchestrator.db.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ review_status: 'withdrawn', decision_reason: 'staff.escalate' });
    // A second escalation updates the note; it does not open another case.
    await request(harness.url)
      .post('/v1/conversations/conv-ap-close/events')
      .set(manager(harness, 'frank'))
      .set('Idempotency-Key', 'escalate-again')
      .send({ type: 'staff.escalate', reason: 'left a voicemail' })
      .expect(202);
    const escalations = await harness.orchestrator.db.selectFrom('escalations').selectAll().where('conversation_id', '=', 'conv-ap-close').execute();
    expect(escalations).toHaveLength(1);
    const view = await request(harness.url).get('/v1/conversations/conv-ap-close').set(manager(harness)).expect(200);
    expect(view.body.context.escalation).toEqual({ reason: 'staff', note: 'left a voicemail', severity: null });
  });

  it('when a service token reads the queue, then 403 (draft texts are for managers)', async () => {
    await request(harness.url).get('/v1/approvals').set(service(harness)).expect(403);
  });

  it('when an unknown item is decided, then 404', async () => {
    const response = await request(harness.url).post('/orchestrate/approve-response').set(manager(harness)).send({ response_queue_id: 'nope', action: 'approve' }).expect(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('when the queue is paged, then items come oldest first and the cursor continues where the page ended', async () => {
    for (const name of ['conv-page-1', 'conv-page-2', 'conv-page-3']) await pendingApproval(harness, name);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await request(harness.url)
        .get('/v1/approvals')
        .query({ status: 'pending', limit: 2, ...(cursor ? { cursor } : {}) })
        .set(manager(harness))
        .expect(200);
      all.push(...page.body.items.map((item: { conversation_id: string }) => item.conversation_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const pages = all.filter((id) => id.startsWith('conv-page-'));
    expect(pages).toEqual(['conv-page-1', 'conv-page-2', 'conv-page-3']);
    expect(new Set(all).size).toBe(all.length);
    await request(harness.url).get('/v1/approvals').query({ cursor: 'garbage' }).set(manager(harness)).expect(400);
  });
});

describe('the approval SLA', () => {
  let fast: TestOrchestrator;
  beforeAll(async () => {
    fast = await startTestOrchestrator({ APPROVAL_SLA: '1500ms' });
  });
  afterAll(() => fast.stop());

  it('when nobody decides, then managers are reminded once, then a person takes over, and nothing is sent', async () => {
    const id = await pendingApproval(fast, 'conv-sla-1');
    const reminders = () =>
      fast.orchestrator.simulators!.notifications.received.filter(
        (n) => (n.metadata as { response_queue_id?: string }).response_queue_id === id,
      );
    await waitFor(() => reminders().length >= 2, 10_000, 'a reminder');
    expect(reminders().map((n) => [n.priority, (n.metadata as { reminder: boolean }).reminder])).toEqual([
      ['normal', false],
      ['high', true],
    ]);
    await waitForState(fast.orchestrator, 'conv-sla-1', ['escalated'], 10_000);
    const row = await fast.orchestrator.db.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ review_status: 'expired', decision_reason: 'approval_sla', reviewer: null });
    expect(fast.orchestrator.simulators!.sms.sent).toEqual([]);
    // The staff notification is an effect job run after the escalation commits: wait for it.
    const staff = await waitFor(
      () =>
        fast.orchestrator.simulators!.notifications.received.find(
          (n) => (n.metadata as { conversation_id?: string; kind?: string }).conversation_id === 'conv-sla-1' && (n.metadata as { kind?: string }).kind === 'escalated',
        ),
      10_000,
      'the staff notification',
    );
    expect(staff).toMatchObject({ priority: 'high' });
  });
});
