import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { PROMPT_VERSION } from '../../src/adapters/drafting/prompt.js';
import { startOpenAiStub, type OpenAiStub, type StubReply } from '../helpers/openai-stub.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * The whole service with the `openai` drafter, talking through the real SDK to a local OpenAI-compatible
 * stub scripted per test. One row per kind of model answer, and where the conversation ends up.
 */

let stub: OpenAiStub;
let harness: TestOrchestrator;

beforeAll(async () => {
  stub = await startOpenAiStub();
  harness = await startTestOrchestrator(
    { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: stub.baseUrl, OPENAI_MODEL: 'gpt-4-turbo', OPENAI_TIMEOUT: '700ms' },
    // The SDK already retried; the job does not try again, so exhaustion shows at once as `failed`.
    { invokeMaxAttempts: 1 },
  );
});
afterAll(async () => {
  await harness.stop();
  await stub.close();
});

// The development agency (AGENCY_NAME unset) and the first text's full notice: every conversation here is new.
const FOOTER = 'Acme Recovery is a debt collector attempting to collect a debt; any information obtained will be used for that purpose. Reply STOP to opt out.';
const answer = (fields: Partial<{ reply: string; intents: string[]; confidence: number; plan: unknown }>): StubReply => ({
  json: { reply: `Thanks for your message. ${FOOTER}`, intents: ['question'], plan: null, confidence: 0.95, reasons: ['test'], ...fields },
});

let counter = 0;
async function inbound(content: string) {
  counter += 1;
  const conversationId = `conv-ai-${counter}`;
  await request(harness.url)
    .post('/orchestrate/sms-received')
    .set('Authorization', `Bearer ${harness.token('service')}`)
    .set('Idempotency-Key', `${conversationId}-1`)
    .send({ tenant_id: 'tenant-ai', phone_number: `+1555030${String(counter).padStart(4, '0')}`, content, conversation_id: conversationId })
    .expect(202);
  return conversationId;
}

async function latestDraft(conversationId: string) {
  return harness.orchestrator.db
    .selectFrom('drafts')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();
}

const settled = ['awaitingReply', 'pendingApproval', 'escalated', 'optedOut', 'failed'];

describe('drafting with the openai drafter (real SDK, local stub)', () => {
  const cases: Array<{ kind: string; replies: StubReply[]; expected: string; reviewReason: string | null }> = [
    { kind: 'a confident answer to a question', replies: [answer({})], expected: 'awaitingReply', reviewReason: null },
    { kind: 'a mid-confidence plan', replies: [answer({ intents: ['payment_plan'], confidence: 0.7 })], expected: 'pendingApproval', reviewReason: null },
    { kind: 'a low-confidence answer', replies: [answer({ intents: ['other'], confidence: 0.4 })], expected: 'escalated', reviewReason: null },
    { kind: 'an attorney intent, however confident', replies: [answer({ intents: ['attorney'], confidence: 0.99 })], expected: 'escalated', reviewReason: null },
    { kind: 'a dispute', replies: [answer({ intents: ['dispute'], confidence: 0.9 })], expected: 'escalated', reviewReason: null },
    { kind: 'malformed JSON', replies: [{ content: '{"reply": "oops' }], expected: 'pendingApproval', reviewReason: 'malformed_model_answer' },
    { kind: 'a confident text that fails compliance', replies: [answer({ reply: 'Pay today.', confidence: 0.97 })], expected: 'pendingApproval', reviewReason: 'compliance:' },
    { kind: '429 then success (SDK retry)', replies: [{ status: 429 }, answer({})], expected: 'awaitingReply', reviewReason: null },
  ];

  it.each(cases)('when the model gives $kind, then the conversation goes to $expected', async ({ replies, expected, reviewReason }) => {
    stub.enqueue(...replies);
    const conversationId = await inbound('Hi, what do I owe?');
    expect(await waitForState(harness.orchestrator, conversationId, settled)).toBe(expected);
    const draft = await latestDraft(conversationId);
    expect(draft).toMatchObject({ drafter: 'openai', model: 'gpt-4-turbo', prompt_version: PROMPT_VERSION });
    expect(draft.usage).toMatchObject({ totalTokens: expect.any(Number) });
    if (reviewReason) expect(draft.review_reason).toContain(reviewReason);
    else expect(draft.review_reason).toBeNull();
    if (reviewReason === 'compliance:') {
      // Each rule the text broke is a recorded refusal, like the send-time gate's decisions.
      const refusals = await harness.orchestrator.db.selectFrom('compliance_decisions').select(['rule', 'decision']).where('conversation_id', '=', conversationId).execute();
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals.every((row) => row.decision === 'refused')).toBe(true);
      expect(refusals.map((row) => row.rule)).toEqual(expect.arrayContaining(['missing_opt_out']));
    }
    expect(stub.pending()).toBe(0);
  });

  it('when the debtor opts out, then one confirmation goes out and nothing after', async () => {
    stub.enqueue(answer({ intents: ['opt_out'], confidence: 0.99 }));
    const conversationId = await inbound('STOP');
    await waitForState(harness.orchestrator, conversationId, ['optedOut']);
    const phone = `+1555030${String(counter).padStart(4, '0')}`;
    await waitFor(() => harness.orchestrator.simulators!.sms.sent.some((sms) => sms.to === phone), 10_000, 'the confirmation');
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set('Authorization', `Bearer ${harness.token('service')}`)
      .set('Idempotency-Key', `${conversationId}-2`)
      .send({ tenant_id: 'tenant-ai', phone_number: phone, content: 'hello?', conversation_id: conversationId })
      .expect(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone)).toHaveLength(1);
    expect(stub.pending()).toBe(0);
  });

  it('when the model answers 500 until the SDK gives up, then the conversation fails, and a manager retry drafts again', async () => {
    stub.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const conversationId = await inbound('Can you explain the fees?');
    expect(await waitForState(harness.orchestrator, conversationId, settled)).toBe('failed');
    expect(stub.requests.filter((r) => r.path.endsWith('/chat/completions')).length).toBeGreaterThanOrEqual(3);
    const failedView = await request(harness.url)
      .get(`/v1/conversations/${conversationId}`)
      .set('Authorization', `Bearer ${harness.token('manager')}`)
      .expect(200);
    expect(failedView.body.context.failure).toMatchObject({ step: 'drafting' });

    stub.enqueue(answer({}));
    await request(harness.url)
      .post(`/orchestrate/retry/${conversationId}`)
      .set('Authorization', `Bearer ${harness.token('manager')}`)
      .expect(202);
    expect(await waitForState(harness.orchestrator, conversationId, ['awaitingReply'])).toBe('awaitingReply');
  });

  it('when the model answers slower than the timeout, then the call gives up and the conversation fails', async () => {
    stub.enqueue({ delayMs: 2_000, ...answer({}) }, { delayMs: 2_000, ...answer({}) }, { delayMs: 2_000, ...answer({}) });
    const conversationId = await inbound('Are you there?');
    expect(await waitForState(harness.orchestrator, conversationId, settled, 20_000)).toBe('failed');
    stub.reset();
  }, 30_000);

  it('when a mid-confidence draft is modified by a manager, then the modified text is what the SMS Agent receives', async () => {
    stub.enqueue(answer({ intents: ['payment_plan'], confidence: 0.75, reply: `We can look at a plan. ${FOOTER}` }));
    const conversationId = await inbound('Could I pay it in smaller parts?');
    await waitForState(harness.orchestrator, conversationId, ['pendingApproval']);
    const draft = await latestDraft(conversationId);
    await waitFor(
      () => harness.orchestrator.simulators!.notifications.received.find((n) => (n.metadata as { response_queue_id?: string }).response_queue_id === draft.id),
      10_000,
      'the manager notification',
    );
    const modified = `Yes, tell us what you can pay each week. ${FOOTER}`;
    await request(harness.url)
      .post('/orchestrate/approve-response')
      .set('Authorization', `Bearer ${harness.token('manager', 'mia')}`)
      .send({ response_queue_id: draft.id, action: 'modify', modified_text: modified, manager_id: 'mia' })
      .expect(202);
    await waitForState(harness.orchestrator, conversationId, ['awaitingReply']);
    const phone = `+1555030${String(counter).padStart(4, '0')}`;
    expect(harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone).map((sms) => sms.body)).toEqual([modified]);
  });

  it('when two tenants text one number, then the model sees this tenant\'s earlier texts and accepted replies in order, and none of the other tenant\'s', async () => {
    const phone = '+15550309901';
    const sms = harness.orchestrator.simulators!.sms;
    const say = async (tenant: string, conversationId: string, n: number, content: string) =>
      request(harness.url)
        .post('/orchestrate/sms-received')
        .set('Authorization', `Bearer ${harness.token('service')}`)
        .set('Idempotency-Key', `${conversationId}-${n}`)
        .send({ tenant_id: tenant, phone_number: phone, content, conversation_id: conversationId })
        .expect(202);
    const replyA = `Alpha reply about your balance. ${FOOTER}`;
    const replyB = `Bravo reply about the other account. ${FOOTER}`;
    stub.enqueue(answer({ reply: replyA }));
    await say('tenant-ai-alpha', 'conv-ai-shared-a', 1, 'Alpha first text: what do I owe?');
    await waitForState(harness.orchestrator, 'conv-ai-shared-a', ['awaitingReply']);
    stub.enqueue(answer({ reply: replyB }));
    await say('tenant-ai-bravo', 'conv-ai-shared-b', 1, 'Bravo private text about my other debt');
    await waitForState(harness.orchestrator, 'conv-ai-shared-b', ['awaitingReply']);
    expect(sms.sent.filter((text) => text.to === phone).map((text) => text.body)).toEqual([replyA, replyB]);
    // A reply of A's whose hand-off never completed (its outcome unknown): not a text the debtor got.
    await harness.orchestrator.db
      .insertInto('outbound_messages')
      .values({ idempotency_key: 'shared-a-unsent', conversation_id: 'conv-ai-shared-a', body: 'Alpha unsent reply', status: 'sending', kind: 'reply' })
      .execute();

    const before = stub.requests.length;
    const smsAgentCalls = sms.requestCount;
    stub.enqueue(answer({}));
    await say('tenant-ai-alpha', 'conv-ai-shared-a', 2, 'Alpha second text: thanks');
    await waitForState(harness.orchestrator, 'conv-ai-shared-a', ['awaitingReply']);
    // The turn's one call to the SMS Agent is its send: the thread was read from our own records.
    expect(sms.requestCount - smsAgentCalls).toBe(1);
    const drafts = stub.requests.slice(before).filter((r) => r.path.endsWith('/chat/completions'));
    expect(drafts).toHaveLength(1);
    const prompt = drafts[0]!.body.messages[1].content as string;
    expect(prompt).not.toContain('Bravo');
    expect(prompt).not.toContain('Alpha unsent reply');
    const payload = JSON.parse(prompt);
    expect(payload.earlier_messages.map((message: { from: string; text: string }) => [message.from, message.text])).toEqual([
      ['debtor', 'Alpha first text: what do I owe?'],
      ['agency', replyA],
    ]);
    expect(payload.new_messages.map((message: { text: string }) => message.text)).toEqual(['Alpha second text: thanks']);
  });

  it('when drafts have been made, then Prometheus sees the tokens the model used and its latency by model, and its failures by outcome', async () => {
    const response = await request(harness.url).get('/metrics').set('Authorization', `Bearer ${harness.token('service')}`).expect(200);
    const sample = (line: RegExp) => Number(line.exec(response.text)?.[1] ?? Number.NaN);
    // Every completion of the stub reports its usage; the cases above drafted several times.
    expect(sample(/^orchestrator_openai_tokens_total\{model="gpt-4-turbo",kind="prompt"\} (\d+)$/m)).toBeGreaterThan(0);
    expect(sample(/^orchestrator_openai_tokens_total\{model="gpt-4-turbo",kind="completion"\} (\d+)$/m)).toBeGreaterThan(0);
    expect(sample(/^orchestrator_openai_request_duration_seconds_count\{model="gpt-4-turbo",outcome="ok"\} (\d+)$/m)).toBeGreaterThan(0);
    expect(sample(/^orchestrator_downstream_requests_total\{service="openai",outcome="http_5xx"\} (\d+)$/m)).toBeGreaterThan(0);
  });
});
