import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { INTENTS, type Intent } from '../../machines/conversation/conversation.types.js';
import { DEFAULT_ROUTING, routeDraft } from '../../machines/conversation/routing.js';
import { toDraft, type DraftProposal, type DraftRequest } from '../../src/adapters/drafting/drafter.js';
import { createOpenAiDrafter, responseFormatFor, type OpenAiDrafterOptions } from '../../src/adapters/drafting/openai.drafter.js';
import { PROMPT_VERSION } from '../../src/adapters/drafting/prompt.js';
import type { Tenant } from '../../src/adapters/ports.js';
import type { ThreadMessage } from '../../src/db/draft-facts.repository.js';
import { ServiceError } from '../../src/errors.js';
import { complianceFooter } from '../../src/policies/compliance.js';
import { startOpenAiStub, type OpenAiStub } from '../helpers/openai-stub.js';
import { EARLIER_REPLY, makeDraftRequest, makePlan, makeTenant } from '../helpers/fixtures.js';
import type { PaymentPlan } from '../../machines/conversation/plan.types.js';

const PHONE = '+15557654321';
const SECRET_TEXT = 'my secret sentence 4242';

let stub: OpenAiStub;
const logLines: string[] = [];
const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });

beforeAll(async () => {
  stub = await startOpenAiStub();
});
afterEach(() => {
  // Every scripted reply must have been consumed: a leftover means the drafter asked less than expected.
  const left = stub.pending();
  stub.reset();
  expect(left).toBe(0);
});
afterAll(async () => {
  await stub.close();
});

const tenant = (overrides: Partial<Tenant> = {}) => makeTenant({ phoneNumbers: [PHONE], ...overrides });

const request = (texts: string[], overrides: Partial<Tenant> = {}, history: ThreadMessage[] = [], offeredPlan: PaymentPlan | null = null) =>
  makeDraftRequest(texts, tenant(overrides), { history, offeredPlan });

const drafter = (overrides: Partial<OpenAiDrafterOptions> = {}) =>
  createOpenAiDrafter({ apiKey: 'sk-test', baseUrl: stub.baseUrl, model: 'gpt-4-turbo', timeoutMs: 2_000, maxRetries: 2, logger, ...overrides });

// The requests here open their thread (no text of ours in the history): the closing carries the full notice.
const reply = (body: string, language: 'en' | 'es' = 'en') => `${body} ${complianceFooter(language, { firstText: true })}`;
const answer = (overrides: Record<string, unknown> = {}) => ({
  reply: reply('Thanks for your message. How would you like to settle your balance?'),
  intents: ['greeting'],
  plan: null,
  confidence: 0.92,
  reasons: ['simple greeting'],
  ...overrides,
});

const asDraft = (proposal: DraftProposal, language: 'en' | 'es' = 'en', step: DraftRequest['step'] = null) => toDraft(proposal, 'd-1', language, step);

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError);
    return error as ServiceError;
  }
  throw new Error('expected a rejection');
}

describe('openai drafter — answers', () => {
  const inbound: Record<Exclude<Intent, 'plan_accepted' | 'plan_declined'>, string> = {
    payment_plan: 'I can pay $50 a week for 8 weeks',
    promise_to_pay: 'I will pay on Friday',
    hardship: 'I lost my job',
    dispute: 'not my debt',
    cease: 'stop contacting me',
    attorney: 'talk to my lawyer',
    bankruptcy: 'I filed for bankruptcy',
    opt_out: 'STOP',
    hostile: 'you are thieves',
    threat_to_sue: "I'm going to sue you",
    regulator_complaint: 'I will file a complaint with the CFPB',
    supervisor_request: 'let me talk to a supervisor',
    harassment_claim: 'this is harassment',
    question: 'how much do I owe?',
    paid: 'I already made the payment', // "I already paid" (the debt) is a dispute the safety net adds
    wrong_number: 'wrong number',
    greeting: 'hello',
    other: 'maybe later',
  };

  // Plan intents are decided by code (the step); they have their own tests below.
  const PLAN_INTENTS: Intent[] = ['payment_plan', 'plan_accepted', 'plan_declined'];
  for (const intent of INTENTS.filter((candidate) => !PLAN_INTENTS.includes(candidate))) {
    it(`when the model answers ${intent}, then the proposal carries it with the model's confidence and no review reason`, async () => {
      stub.enqueue({ json: answer({ intents: [intent], plan: null, confidence: 0.77, reasons: [`looks like ${intent}`] }) });
      const proposal = await drafter().draft(request([inbound[intent as keyof typeof inbound]]));
      expect(proposal).toMatchObject({
        text: reply('Thanks for your message. How would you like to settle your balance?'),
        intents: [intent],
        confidence: 0.77,
        reviewReason: null,
        drafter: 'openai',
        model: 'gpt-4-turbo',
        promptVersion: PROMPT_VERSION,
        usage: { promptTokens: 321, completionTokens: 54, totalTokens: 375 },
      });
      expect(proposal.reasons).toContain(`model: looks like ${intent}`);
      expect(JSON.parse(proposal.rawText!)).toMatchObject({ intents: [intent] });
      expect(proposal.latencyMs).toBeGreaterThanOrEqual(0);
    });
  }

  it('when the model answers in Spanish for a Spanish tenant, then the Spanish footer satisfies the policy', async () => {
    stub.enqueue({ json: answer({ reply: reply('Gracias por su mensaje. ¿Cómo desea pagar?', 'es') }) });
    const proposal = await drafter().draft(request(['hola'], { language: 'es' }));
    expect(proposal.reviewReason).toBeNull();
    expect(routeDraft(asDraft(proposal, 'es'), DEFAULT_ROUTING)).toBe('autoSend');
  });

  it('when the answer is not JSON, then it does not throw, keeps the raw text and falls back to a compliant rules text for review', async () => {
    stub.enqueue({ content: 'Sure! Here is a reply: Hi Ana…' });
    const proposal = await drafter().draft(request(['hello']));
    expect(proposal).toMatchObject({ reviewReason: 'malformed_model_answer', rawText: 'Sure! Here is a reply: Hi Ana…', confidence: 0, drafter: 'openai', intents: ['greeting'] });
    expect(proposal.text.endsWith(complianceFooter('en', { firstText: true }))).toBe(true);
    expect(proposal.reasons).toContain('fallback: text and intents from the rules drafter');
    expect(routeDraft(asDraft(proposal), DEFAULT_ROUTING)).toBe('review');
  });

  it('when the answer is malformed and the debtor said STOP, then the opt-out still routes first', async () => {
    stub.enqueue({ content: '{"reply": "unterminated' });
    const proposal = await drafter().draft(request(['STOP']));
    expect(proposal.reviewReason).toBe('malformed_model_answer');
    expect(routeDraft(asDraft(proposal), DEFAULT_ROUTING)).toBe('optOut');
  });

  it('when the answer is empty, then the review reason says so', async () => {
    stub.enqueue({ content: '' });
    const proposal = await drafter().draft(request(['hello']));
    expect(proposal).toMatchObject({ reviewReason: 'empty_model_answer', rawText: '' });
  });

  it('when the answer is JSON of the wrong shape, then it is invalid_model_answer', async () => {
    stub.enqueue({ json: answer({ intents: ['payment'], confidence: 1.7 }) });
    const proposal = await drafter().draft(request(['hello']));
    expect(proposal.reviewReason).toBe('invalid_model_answer');
    expect(proposal.reasons[0]).toMatch(/schema mismatch \(intents\.0: invalid_value; confidence: too_big\)/);
  });

  it('when the answer was cut off at the token limit, then it is truncated_model_answer', async () => {
    stub.enqueue({ content: '{"reply": "Thanks for', finishReason: 'length' });
    expect((await drafter().draft(request(['hello']))).reviewReason).toBe('truncated_model_answer');
  });

  it('when the model refuses, then it is model_refusal', async () => {
    stub.enqueue({ content: null, refusal: 'I cannot help with that.' });
    expect((await drafter().draft(request(['hello']))).reviewReason).toBe('model_refusal');
  });

  it('when the JSON arrives inside a code fence, then it is still read', async () => {
    stub.enqueue({ content: `\`\`\`json\n${JSON.stringify(answer())}\n\`\`\`` });
    expect((await drafter().draft(request(['hello']))).reviewReason).toBeNull();
  });

  it('when the reply lacks the opt-out sentence, then the model text is kept for the manager with compliance:missing_opt_out', async () => {
    stub.enqueue({ json: answer({ reply: 'This is a debt collector. Please pay today.', confidence: 0.99 }) });
    // A later reply (a text of ours is in the history), so only the opt-out sentence is missing.
    const proposal = await drafter().draft(request(['hello'], {}, [EARLIER_REPLY]));
    expect(proposal).toMatchObject({ reviewReason: 'compliance:missing_opt_out', text: 'This is a debt collector. Please pay today.', confidence: 0.99 });
    expect(routeDraft(asDraft(proposal), DEFAULT_ROUTING)).toBe('review');
  });

  it('when the reply is too long or threatens, then every violation is named', async () => {
    // Past the default budget of 4 segments (612 GSM-7 characters).
    stub.enqueue({ json: answer({ reply: reply(`We will garnish your wages. ${'Please pay. '.repeat(45)}`) }) });
    const proposal = await drafter().draft(request(['hello']));
    expect(proposal.reviewReason).toBe('compliance:too_long,banned_phrase');
    expect(proposal.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^violation: too_long/), expect.stringMatching(/^violation: banned_phrase/)]));
  });

  it('when the model proposes a plan amount the debtor never wrote, then it waits for review', async () => {
    stub.enqueue({ json: answer({ intents: ['payment_plan'], plan: { weekly_amount_cents: 4_615, weeks: 13 }, confidence: 0.95 }) });
    const proposal = await drafter().draft(request(['Can I pay a bit less each month?']));
    expect(proposal).toMatchObject({ reviewReason: 'unverified_plan_amount' });
  });

  it('when the debtor offers a plan, then code restates it (not the model) and a different amount from the model is flagged', async () => {
    stub.enqueue({ json: answer({ intents: ['payment_plan'], plan: { weekly_amount_cents: 20_000, weeks: 4 }, confidence: 0.5 }) });
    const req = request(['I can pay $200 a week for 4 weeks'], { amountOwedCents: 75_000 });
    const proposal = await drafter().draft(req);
    expect(proposal.text).toMatch(/^4 weekly payments: \$200\.00 from .* Reply YES to agree\. /);
    expect(proposal).toMatchObject({ confidence: 0.9, reviewReason: null, intents: ['payment_plan'] });
    expect(routeDraft(asDraft(proposal, 'en', req.step), DEFAULT_ROUTING)).toBe('autoSend');

    stub.enqueue({ json: answer({ intents: ['payment_plan'], plan: { weekly_amount_cents: 25_000, weeks: 3 }, confidence: 0.9 }) });
    expect((await drafter().draft(req)).reviewReason).toBe('plan_mismatch');
  });

  it('when the debtor says yes to our offer and the model misreads it, then code still agrees the plan', async () => {
    stub.enqueue({ json: answer({ intents: ['other'], confidence: 0.3 }) });
    const req = request(['Yes'], { amountOwedCents: 75_000 }, [], makePlan());
    const proposal = await drafter().draft(req);
    expect(proposal.intents).toContain('plan_accepted');
    expect(routeDraft(asDraft(proposal, 'en', req.step), DEFAULT_ROUTING)).toBe('agreePlan');
  });

  it('when the debtor wrote STOP and the model missed it, then the rules safety net adds opt_out', async () => {
    stub.enqueue({ json: answer({ intents: ['greeting'], confidence: 0.95 }) });
    const proposal = await drafter().draft(request(['STOP']));
    expect(proposal.intents).toEqual(['opt_out', 'greeting']);
    expect(proposal.reasons).toContain('safety_net: opt_out detected by rules');
    expect(routeDraft(asDraft(proposal), DEFAULT_ROUTING)).toBe('optOut');
  });

  it('when the first reply of a thread lacks the full notice, then it waits for a manager (missing_notice)', async () => {
    stub.enqueue({ json: answer({ reply: `Thanks for your message. ${complianceFooter('en')}` }) });
    const proposal = await drafter().draft(request(['hello']));
    expect(proposal.reviewReason).toBe('compliance:missing_notice');
  });

  it('when the reply states an amount that is not the balance, then it waits for a manager (amount_mismatch, no amounts named)', async () => {
    stub.enqueue({ json: answer({ reply: reply('Your balance is $1,500.00.') }) });
    const proposal = await drafter().draft(request(['hello']));
    expect(proposal.reviewReason).toBe('compliance:amount_mismatch');
    expect(proposal.reasons.join(' ')).not.toMatch(/1,500|150000/);
    stub.enqueue({ json: answer({ reply: reply('Your balance is $1,234.56.') }) });
    expect((await drafter().draft(request(['hello']))).reviewReason).toBeNull();
  });

  it('when the debtor wrote a natural opt-out the model missed, then the safety net adds it too', async () => {
    stub.enqueue({ json: answer({ intents: ['question'], confidence: 0.95 }) });
    const proposal = await drafter().draft(request(['please take me off your list']));
    expect(proposal.intents).toEqual(['opt_out', 'question']);
  });

  it.each([
    ['attorney', 'my atorney will call you'],
    ['bankruptcy', 'I filed chapter 13 last week'],
    ['threat_to_sue', 'see you in court'],
    ['regulator_complaint', 'voy a reportarlos a la CFPB'],
    ['supervisor_request', 'quiero hablar con un supervisor'],
    ['harassment_claim', 'stop harrassing me'],
    ['dispute', 'no reconozco esa deuda'],
    ['cease', 'leave me alone'],
    ['hostile', 'pinches rateros'],
  ] as const)('when the debtor wrote %s and the model missed it, then the safety net adds it and the draft escalates', async (intent, text) => {
    stub.enqueue({ json: answer({ intents: ['greeting'], confidence: 0.95 }) });
    const proposal = await drafter().draft(request([text]));
    expect(proposal.intents).toEqual(expect.arrayContaining(['greeting', intent]));
    expect(proposal.reasons).toContain(`safety_net: ${intent} detected by rules`);
    expect(routeDraft(asDraft(proposal), DEFAULT_ROUTING)).toBe('escalate');
  });

  it('when the model already saw the legal intent, then the safety net adds nothing', async () => {
    stub.enqueue({ json: answer({ intents: ['attorney'], confidence: 0.9 }) });
    const proposal = await drafter().draft(request(['talk to my lawyer']));
    expect(proposal.intents).toEqual(['attorney']);
    expect(proposal.reasons.some((reason) => reason.startsWith('safety_net'))).toBe(false);
  });
});

describe('openai drafter — request', () => {
  it('when the model is gpt-4-turbo, then JSON mode is asked with max_tokens, and the answer is still validated', async () => {
    stub.enqueue({ json: answer() });
    await drafter({ model: 'gpt-4-turbo' }).draft(request(['hello']));
    const body = stub.requests[0].body;
    expect(body.model).toBe('gpt-4-turbo');
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.max_tokens).toBeGreaterThan(0);
    expect(body.temperature).toBeDefined();
  });

  it('when the model supports structured outputs, then a strict json_schema is asked', async () => {
    stub.enqueue({ json: answer() });
    await drafter({ model: 'gpt-4o-mini' }).draft(request(['hello']));
    const format = stub.requests[0].body.response_format;
    expect(format.type).toBe('json_schema');
    expect(format.json_schema).toMatchObject({ name: 'sms_draft', strict: true });
    expect(format.json_schema.schema.required).toEqual(['reply', 'intents', 'plan', 'confidence', 'reasons']);
    expect(format.json_schema.schema.properties.intents.items.enum).toEqual([...INTENTS]);
  });

  it('when the model is a reasoning model, then max_completion_tokens is used and temperature left out', async () => {
    stub.enqueue({ json: answer() });
    await drafter({ model: 'gpt-5-mini' }).draft(request(['hello']));
    const body = stub.requests[0].body;
    expect(body.response_format.type).toBe('json_schema');
    expect(body.max_completion_tokens).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('when model names are compared, then the response format follows the model family', () => {
    expect(responseFormatFor('gpt-4-turbo')).toBe('json_object');
    expect(responseFormatFor('gpt-3.5-turbo')).toBe('json_object');
    expect(responseFormatFor('gpt-4o-2024-05-13')).toBe('json_object');
    expect(responseFormatFor('gpt-4o')).toBe('json_schema');
    expect(responseFormatFor('gpt-4o-mini')).toBe('json_schema');
    expect(responseFormatFor('gpt-4.1-nano')).toBe('json_schema');
    expect(responseFormatFor('gpt-5')).toBe('json_schema');
    expect(responseFormatFor('o3-mini')).toBe('json_schema');
    expect(responseFormatFor('openai/GPT-4o')).toBe('json_schema');
  });

  it('when the context is built, then it has the system prompt in the tenant language, no phone number, and the newest history within budget', async () => {
    const history: ThreadMessage[] = Array.from({ length: 60 }, (_, index) => ({
      id: `h-${index}`,
      direction: index % 2 === 0 ? 'outbound' : 'inbound',
      content: `message number ${index} ${'x'.repeat(180)}`,
      createdAt: `2024-12-01T10:${String(index).padStart(2, '0')}:00Z`,
    }));
    history.push({ id: 'm-0', direction: 'inbound', content: 'hola, ¿cuánto debo?', createdAt: '2025-01-01T10:00:00Z' });
    stub.enqueue({ json: answer({ reply: reply('Su saldo es de $1,234.56.', 'es') }) });
    await drafter({ historyTokenBudget: 300 }).draft(request(['hola, ¿cuánto debo?'], { language: 'es' }, history));

    const [system, user] = stub.requests[0].body.messages;
    expect(system.role).toBe('system');
    expect(system.content).toContain('Write the reply in Spanish');
    expect(system.content).toContain(complianceFooter('es'));
    expect(system.content).not.toMatch(/\{\{\w+\}\}/);
    expect(user.role).toBe('user');
    expect(user.content).not.toContain(PHONE);
    expect(user.content).not.toContain('García');
    const payload = JSON.parse(user.content);
    expect(payload.account).toEqual({ first_name: 'Ana', amount_owed: '$1,234.56', days_late: 45, language: 'es', payment_reliability_score: 0.4, failed_payment_plans: 1 });
    expect(payload.new_messages).toEqual([{ at: '2025-01-01T10:00:00Z', text: 'hola, ¿cuánto debo?' }]);
    // ~60 tokens a message, 300 budget: the last few, oldest first, and the new message not repeated.
    const kept = payload.earlier_messages.map((message: { text: string }) => Number(/number (\d+)/.exec(message.text)![1]));
    expect(kept).toEqual([56, 57, 58, 59]);
    expect(payload.earlier_messages_omitted).toBe(56);
    expect(payload.earlier_messages[0].from).toBe('agency');
    expect(payload.earlier_messages[1].from).toBe('debtor');
  });

  it('when the thread holds the texts being answered and an earlier text with the same words, then only the answered ones are left out (by id)', async () => {
    const history: ThreadMessage[] = [
      { id: 'h-0', direction: 'inbound', content: 'ok', createdAt: '2024-12-30T09:00:00Z' },
      EARLIER_REPLY,
      { id: 'm-0', direction: 'inbound', content: 'ok', createdAt: '2025-01-01T10:00:00Z' },
    ];
    stub.enqueue({ json: answer({ reply: reply('Thanks.') }) });
    await drafter().draft(request(['ok'], {}, history));
    const payload = JSON.parse(stub.requests[0].body.messages[1].content);
    expect(payload.earlier_messages.map((message: { from: string; text: string }) => [message.from, message.text])).toEqual([
      ['debtor', 'ok'],
      ['agency', EARLIER_REPLY.content],
    ]);
    expect(payload.new_messages).toEqual([{ at: '2025-01-01T10:00:00Z', text: 'ok' }]);
  });

  it('when a draft is logged, then no message text, reply or phone number reaches the logs', async () => {
    logLines.length = 0;
    stub.enqueue({ json: answer({ reply: reply(`About ${SECRET_TEXT}.`) }) });
    stub.enqueue({ content: `not json ${SECRET_TEXT}` });
    await drafter().draft(request([SECRET_TEXT]));
    await drafter().draft(request([SECRET_TEXT]));
    const logs = logLines.join('\n');
    expect(logs).toContain('draft proposed by the model');
    expect(logs).not.toContain(SECRET_TEXT);
    expect(logs).not.toContain(PHONE);
  });
});

describe('openai drafter — transport', () => {
  it("when the SDK calls the API, then it goes through undici's request (src/adapters/drafting/undici-fetch.ts), not Node's fetch", async () => {
    stub.enqueue({ json: answer() });
    await drafter().draft(request(['hello']));
    const { headers } = stub.requests[0];
    expect(headers.authorization).toBe('Bearer sk-test');
    expect(headers['x-stainless-retry-count']).toBe('0');
    // Node's fetch adds the browser's fetch metadata to every request; undici's request sends what it is given.
    expect(headers['sec-fetch-mode']).toBeUndefined();
  });

  it('when the API answers 429 once, then the SDK retries (honouring retry-after-ms) and the draft succeeds', async () => {
    stub.enqueue({ status: 429 }, { json: answer() });
    const started = Date.now();
    const proposal = await drafter({ maxRetries: 2 }).draft(request(['hello']));
    expect(proposal.reviewReason).toBeNull();
    expect(stub.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('when the log is below debug, then the SDK composes no status line per response; at debug its retry lines are there', async () => {
    const sdkLines = (level: string) => {
      const quiet = pino({ level }, { write: () => {} });
      const child = quiet.child.bind(quiet);
      const composed: unknown[] = [];
      // What the SDK hands the drafter's log, whether or not pino then drops it.
      quiet.child = ((...args: Parameters<typeof quiet.child>) => {
        const log = child(...args);
        const debug = log.debug.bind(log);
        log.debug = ((fields: { source?: string }, ...rest: unknown[]) => {
          if (fields?.source === 'openai-sdk') composed.push(rest[0]);
          return (debug as (...a: unknown[]) => void)(fields, ...rest);
        }) as typeof log.debug;
        return log;
      }) as typeof quiet.child;
      return { logger: quiet, composed };
    };
    const info = sdkLines('info');
    stub.enqueue({ status: 429 }, { json: answer() });
    await drafter({ logger: info.logger }).draft(request(['hello']));
    expect(info.composed).toEqual([]);

    const debug = sdkLines('debug');
    stub.enqueue({ status: 429 }, { json: answer() });
    await drafter({ logger: debug.logger }).draft(request(['hello']));
    expect(debug.composed.some((line) => /retrying/i.test(String(line)))).toBe(true);
  });

  it('when the API answers 500 until the retries run out, then a retryable ServiceError is thrown', async () => {
    stub.enqueue({ status: 500 }, { status: 500 }, { status: 503 });
    const error = await rejection(drafter({ maxRetries: 2 }).draft(request(['hello'])));
    expect(error).toMatchObject({ service: 'openai', code: 'openai_unavailable', retryable: true, upstreamStatus: 503 });
    expect(stub.requests).toHaveLength(3);
  });

  it('when a draft succeeds or fails, then each request is reported with its outcome, its time and the tokens the API counted (metrics)', async () => {
    const calls: Array<{ outcome: string; seconds: number; usage: unknown }> = [];
    const observed = drafter({ maxRetries: 0, observe: (call) => void calls.push(call) });
    stub.enqueue({ json: answer(), usage: { prompt_tokens: 321, completion_tokens: 45, total_tokens: 366 } });
    await observed.draft(request(['hello']));
    stub.enqueue({ status: 503 });
    await rejection(observed.draft(request(['hello'])));
    stub.enqueue({ status: 401 });
    await rejection(observed.draft(request(['hello'])));
    expect(calls.map(({ outcome, usage }) => ({ outcome, usage }))).toEqual([
      { outcome: 'ok', usage: { promptTokens: 321, completionTokens: 45, totalTokens: 366 } },
      { outcome: 'http_5xx', usage: null },
      { outcome: 'http_4xx', usage: null },
    ]);
    for (const call of calls) expect(call.seconds).toBeGreaterThanOrEqual(0);
  });

  it('when the API rejects the request (401), then the ServiceError is not retryable and nothing is retried', async () => {
    stub.enqueue({ status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const error = await rejection(drafter({ maxRetries: 2 }).draft(request(['hello'])));
    expect(error).toMatchObject({ retryable: false, upstreamStatus: 401 });
    expect(stub.requests).toHaveLength(1);
  });

  it('when the answer comes later than the timeout, then a retryable ServiceError is thrown in time', async () => {
    stub.enqueue({ delayMs: 3_000, json: answer() });
    const started = Date.now();
    const error = await rejection(drafter({ timeoutMs: 200, maxRetries: 0 }).draft(request(['hello'])));
    expect(error.retryable).toBe(true);
    // Outside jest this is the SDK's APIConnectionTimeoutError ("no answer within 200 ms"). Inside jest's VM
    // realm the SDK cannot recognise Node's AbortError (a DOMException from another realm fails `instanceof
    // Error`), so it reports a connection error instead; both are retryable, which is what matters here.
    expect(error.message).toMatch(/no answer within 200 ms|connection failed/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('when the caller aborts, then the call stops with a retryable ServiceError', async () => {
    stub.enqueue({ delayMs: 3_000, json: answer() });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(drafter().draft(request(['hello']), controller.signal));
    expect(error).toMatchObject({ retryable: true, message: 'request aborted' });
  });

  it('when nothing listens at the base URL, then the connection failure is retryable', async () => {
    const error = await rejection(drafter({ baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 }).draft(request(['hello'])));
    expect(error.retryable).toBe(true);
  });
});
