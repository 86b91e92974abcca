import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { lintFamilies, parseExposition, promtoolCheck, type Family } from '../helpers/exposition.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Metrics and request ids end to end: a scraper with its own token on the API's port and on METRICS_PORT,
 * an exposition Prometheus accepts, the request id of an inbound text on the SMS Agent's send and on the
 * worker's log lines of the jobs it caused, and a scrape that answers while the database is stuck.
 */

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';
const REQUEST_ID = 'trace-metrics-0001';
const PHONE = '+15550190001';
const HARDSHIP_PHONE = '+15550190002';
const logLines: string[] = [];
let harness: TestOrchestrator;

beforeAll(async () => {
  harness = await startTestOrchestrator({ METRICS_TOKEN, METRICS_PORT: '0', LOG_LEVEL: 'debug' }, { logLines });
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const scraper = { Authorization: `Bearer ${METRICS_TOKEN}` };

async function scrape(url = harness.url): Promise<{ text: string; families: Map<string, Family> }> {
  const response = await request(url).get('/metrics').set(scraper).expect(200);
  return { text: response.text, families: new Map(parseExposition(response.text).map((family) => [family.name, family])) };
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? families.get(name);
  return family?.samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted))?.value;
}

async function inbound(phone: string, content: string, conversationId: string, headers: Record<string, string> = {}) {
  await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .set(headers)
    .send({ tenant_id: 'tenant-metrics', phone_number: phone, content, conversation_id: conversationId, message_id: `${conversationId}-1` })
    .expect(202);
}

describe('request ids through jobs and downstream calls', () => {
  it('when an inbound text comes with an X-Request-Id, then the SMS Agent receives that id on the reply and the worker logs its jobs with it', async () => {
    await inbound(PHONE, 'Hi, what is my balance?', 'conv-metrics-1', { 'X-Request-Id': REQUEST_ID });
    await waitForState(harness.orchestrator, 'conv-metrics-1', ['awaitingReply']);

    // The send runs in the drafter's job (its result started it: a turn is one job): the id went with it.
    const sent = harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === PHONE);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.requestId).toBe(REQUEST_ID);

    const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const jobLines = lines.filter((line) => line.component === 'worker' && line.requestId === REQUEST_ID && line.msg === 'job finished');
    expect(jobLines.filter((line) => line.task === 'invoke').length).toBeGreaterThanOrEqual(1); // the drafter, which ran the sender
    // What the jobs did in between carries it too: the call to the SMS Agent.
    expect(lines.some((line) => line.service === 'sms_agent' && line.msg === 'downstream call' && line.requestId === REQUEST_ID)).toBe(true);
    // And none of those lines quotes the number.
    expect(logLines.filter((line) => line.includes(REQUEST_ID)).join('\n')).not.toContain(PHONE);
  });
});

describe('Prometheus scrape', () => {
  it('when Prometheus scrapes after turns, then the exposition is valid and linted, and every family of the runbook is there without personal data', async () => {
    await inbound(HARDSHIP_PHONE, 'I lost my job last month', 'conv-metrics-2');
    await waitForState(harness.orchestrator, 'conv-metrics-2', ['pendingApproval']);
    // Idle: no job of any task ready or running (the managers' notification is an effect job that may still be
    // on its way to the Notification Service when the drafter's invoke is done).
    await waitFor(
      async () => {
        const { families } = await scrape();
        return ['invoke', 'timer', 'effect'].every((task) => ['ready', 'running'].every((state) => (value(families, 'orchestrator_job_queue_depth', { task, state }) ?? 0) === 0));
      },
      10_000,
      'idle queue',
    );

    const { text, families } = await scrape();
    expect(lintFamilies([...families.values()])).toEqual([]);
    const promtool = promtoolCheck(text);
    if (promtool) expect(promtool).toEqual({ status: 0, output: '' });

    // The turn answered on its own, timed from the debtor's text to the reply handed over.
    expect(value(families, 'orchestrator_turn_duration_seconds_count', { decided_by: 'auto' })).toBeGreaterThanOrEqual(1);
    // Jobs: run times and failures by task; the queue, read from the database at scrape.
    // Two turns' drafters (the first one's job also ran its send).
    expect(value(families, 'orchestrator_job_run_duration_seconds_count', { task: 'invoke', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(families.get('orchestrator_job_failures_total')?.type).toBe('counter');
    for (const task of ['invoke', 'timer', 'effect']) {
      expect(value(families, 'orchestrator_job_queue_depth', { task, state: 'ready' })).toBe(0);
      expect(value(families, 'orchestrator_job_oldest_ready_age_seconds', { task })).toBe(0);
    }
    // Each conversation waits on a timer (no reply, the approval's SLA).
    expect(value(families, 'orchestrator_job_queue_depth', { task: 'timer', state: 'waiting' })).toBeGreaterThanOrEqual(2);
    // Approvals: one waiting, queued moments ago.
    expect(value(families, 'orchestrator_approvals_pending')).toBe(1);
    const age = value(families, 'orchestrator_approval_oldest_pending_age_seconds')!;
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan(60);
    // Downstream calls by service and outcome, and the breakers, closed.
    for (const service of ['collections_monitor', 'sms_agent', 'notification_service']) {
      expect(value(families, 'orchestrator_downstream_requests_total', { service, outcome: 'ok' })).toBeGreaterThan(0);
      expect(value(families, 'orchestrator_downstream_request_duration_seconds_count', { service, outcome: 'ok' })).toBeGreaterThan(0);
      expect(value(families, 'orchestrator_circuit_breaker_state', { service, state: 'closed' })).toBe(1);
      expect(value(families, 'orchestrator_circuit_breaker_state', { service, state: 'open' })).toBe(0);
    }
    // Every event written counted in a batch (group commit): the turns' events at least.
    expect(value(families, 'orchestrator_event_batch_size_count')).toBeGreaterThanOrEqual(4);
    // The OpenAI families exist before any model call (tests in openai-drafting count tokens).
    expect(families.get('orchestrator_openai_tokens_total')?.type).toBe('counter');
    expect(families.get('orchestrator_openai_request_duration_seconds')?.type).toBe('histogram');

    // No label value carries a number, a text or a conversation id.
    const labelValues = [...families.values()].flatMap((family) => family.samples.flatMap((sample) => Object.values(sample.labels)));
    for (const personal of [PHONE, HARDSHIP_PHONE, 'balance', 'lost my job', 'conv-metrics', REQUEST_ID]) {
      expect(labelValues.filter((label) => label.includes(personal))).toEqual([]);
    }
    expect(labelValues.filter((label) => /\d{7,}/.test(label))).toEqual([]);
  });

  it('when the database is stuck, then the scrape still answers at once with the last queue and approval values, and counts the timeout', async () => {
    const before = await scrape();
    const pending = value(before.families, 'orchestrator_approvals_pending');
    const timeouts = value(before.families, 'orchestrator_backlog_read_failures_total', { reason: 'timeout' }) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the one-second reuse of a fresh read

    const blocker = new pg.Client({ connectionString: harness.testDb.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table drafts in access exclusive mode');
      const started = Date.now();
      const { families } = await scrape();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(value(families, 'orchestrator_approvals_pending')).toBe(pending);
      expect(value(families, 'orchestrator_backlog_read_failures_total', { reason: 'timeout' })).toBe(timeouts + 1);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
  });
});

describe('METRICS_TOKEN and METRICS_PORT', () => {
  it('when METRICS_TOKEN is set, then /metrics takes that token and nothing else, and the token opens nothing else', async () => {
    const refused = await request(harness.url).get('/metrics').expect(401);
    expect(refused.body.error.code).toBe('unauthorized');
    await request(harness.url).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}x`).expect(401);
    await request(harness.url).get('/metrics').set('Authorization', METRICS_TOKEN).expect(401);
    // A role's token is not the scraper's.
    await request(harness.url).get('/metrics').set(service()).expect(401);
    await request(harness.url).get('/metrics').set('Authorization', `bearer ${METRICS_TOKEN}`).expect(200);
    // The scraper's token is no role token.
    const elsewhere = await request(harness.url).get('/v1/approvals?status=pending').set(scraper).expect(401);
    expect(elsewhere.body.error.code).toBe('unauthorized');
  });

  it('when METRICS_PORT is set, then that port serves /metrics alone, behind the same token', async () => {
    const metricsUrl = harness.orchestrator.metricsUrl!;
    expect(metricsUrl).not.toBe(harness.url);
    await request(metricsUrl).get('/metrics').expect(401);
    const { families } = await scrape(metricsUrl);
    expect(families.has('orchestrator_job_queue_depth')).toBe(true);
    const other = await request(metricsUrl).get('/health').set(scraper).expect(404);
    expect(other.body.error.code).toBe('route_not_found');
  });
});
