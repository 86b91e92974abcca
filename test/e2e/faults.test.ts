import { afterEach, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import request from 'supertest';
import { clearFault, injectFault } from '../helpers/faults.js';
import { queuedJobs, runConversationJobsNow } from '../helpers/jobs.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';
import { approveAsDrafted } from '../helpers/approvals.js';

/**
 * Downstream faults, injected over HTTP into the SMS Agent simulator while the real service runs (docs/runbook.md,
 * "Faults on purpose"). Short real time: a 300 ms call timeout and breaker; graphile-worker's retry backoff
 * (seconds) is skipped by making the conversation's jobs due now, as a test lets a timer's time pass.
 */

let harness: TestOrchestrator;
afterEach(async () => {
  await harness?.stop();
});

const start = async (options: { invokeMaxAttempts?: number } = {}, env: Record<string, string> = {}) => {
  harness = await startTestOrchestrator({ SERVICE_TIMEOUT: '300', ...env }, { resilience: { halfOpenAfterMs: 300 }, ...options });
  return { sms: harness.orchestrator.simulators!.sms, smsUrl: harness.orchestrator.simulators!.urls.smsAgent };
};
const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager')}` });

async function smsIn(conversationId: string, phone: string, content = 'Hi, what is my balance?', tenant = 'tenant-fault') {
  await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(service())
    .set('Idempotency-Key', `${conversationId}-${content}`)
    .send({ tenant_id: tenant, phone_number: phone, content, conversation_id: conversationId })
    .expect(202);
}

/**
 * A job of the conversation has failed at least once and waits for its retry: its error is stored (a counted
 * attempt), or it is a send put back to wait out an SMS Agent outage.
 */
async function waitForFailedTry(conversationId: string) {
  return waitFor(async () => {
    const { rows } = await sql<{ attempts: number }>`select attempts from graphile_worker._private_jobs
      where payload->>'conversationId' = ${conversationId} and (last_error is not null or payload->>'outageRetries' is not null) and locked_at is null`.execute(harness.testDb.db);
    return rows.length > 0;
  }, 10_000, `a failed try of ${conversationId}`);
}

const stateOf = async (conversationId: string) =>
  (await harness.testDb.db.selectFrom('conversations').select('state').where('id', '=', conversationId).executeTakeFirstOrThrow()).state;
/** How often the conversation's send was tried (the outbound row counts each try that reached the POST). */
const sendTries = async (conversationId: string) =>
  (await harness.testDb.db.selectFrom('outbound_messages').select('attempts').where('conversation_id', '=', conversationId).executeTakeFirst())?.attempts ?? 0;
const staffToldFailed = (conversationId: string) =>
  harness.orchestrator.simulators!.notifications.received.filter((note) => note.metadata?.conversation_id === conversationId && note.metadata?.kind === 'failed');

/** Lets the conversation's retry timers pass (makes its jobs due now, no faster than the breaker half-opens) until `done`. */
async function nudgeUntil(conversationId: string, done: () => Promise<boolean>, what: string) {
  await waitFor(async () => {
    if (await done()) return true;
    await runConversationJobsNow(harness.testDb.db, conversationId);
    await new Promise((resolve) => setTimeout(resolve, 350)); // pacing the nudges, not a proof
    return false;
  }, 30_000, what);
}

/** Nudges the conversations' retries until each reaches the state (the backoff would take seconds). */
async function retryUntil(conversationIds: string[], state: string) {
  let lastNudge = 0;
  try {
    await waitFor(async () => {
      const rows = await harness.testDb.db.selectFrom('conversations').select(['id', 'state']).where('id', 'in', conversationIds).execute();
      const behind = rows.filter((row) => row.state !== state).map((row) => row.id);
      // Not faster than the breaker half-opens: a job nudged into an open breaker only spends a try.
      if (Date.now() - lastNudge >= 500) {
        lastNudge = Date.now();
        for (const id of behind) await runConversationJobsNow(harness.testDb.db, id);
      }
      return rows.length === conversationIds.length && behind.length === 0;
    }, 15_000, `${conversationIds.join(', ')} to reach ${state}`);
  } catch (error) {
    // Say where each one stands and why its job last failed.
    const { rows } = await sql`select c.id, c.state, j.attempts, j.run_at, j.locked_at, j.last_error from conversations c
      left join graphile_worker._private_jobs j on j.payload->>'conversationId' = c.id where c.id in (${sql.join(conversationIds)})`.execute(harness.testDb.db);
    throw new Error(`${(error as Error).message}: ${JSON.stringify(rows)}`);
  }
}

const arrivalsTo = (sms: { arrivals: Array<{ to: string }> }, phone: string) => sms.arrivals.filter((arrival) => arrival.to === phone).length;

describe('faults at the SMS Agent, end to end', () => {
  it('when sends fail while reads succeed, then /health/dependencies says the SMS Agent is degraded, and after the fault the reply goes out once', async () => {
    const { sms, smsUrl } = await start();
    await injectFault(smsUrl, { mode: 'fail_sends' });
    await smsIn('conv-fault-b', '+15550108001');
    // The draft needs nothing from the SMS Agent: it was made, and its send failed.
    await waitForState(harness.orchestrator, 'conv-fault-b', ['sending.handingOff']);
    await waitForFailedTry('conv-fault-b');

    const { body } = await request(harness.url).get('/health/dependencies').set(manager()).expect(200);
    expect(body).toMatchObject({ sms_agent: 'degraded', collections_monitor: 'healthy', orchestrator: 'degraded' });
    expect(body.details.sms_agent).toMatchObject({ probe: 200, breaker: 'closed', last_send: { ok: false } });

    await clearFault(smsUrl);
    await retryUntil(['conv-fault-b'], 'awaitingReply');
    expect(sms.sent.filter((text) => text.to === '+15550108001')).toHaveLength(1);
  });

  it('when the SMS Agent is down for a while, then the breaker opens, drafts are still made and sends wait, and after recovery each pending text goes out exactly once', async () => {
    // Real backoff spreads a job's tries over half a minute; skipping it packs them into the breaker's
    // short recovery, where a try may meet it still open: more tries than the default 4 keep the test about delivery.
    const { sms, smsUrl } = await start({ invokeMaxAttempts: 10 });
    // One reply already waits for a manager before the outage; its send will meet the outage.
    harness.orchestrator.simulators!.monitor.setTenant('tenant-fault-plan', { amount_owed: '750.00', failed_payment_plans: 0 });
    await smsIn('conv-fault-a0', '+15550108100', 'I can pay $100 a week for 8 weeks', 'tenant-fault-plan');
    await waitForState(harness.orchestrator, 'conv-fault-a0', ['pendingApproval']);

    await injectFault(smsUrl, { mode: 'down' });
    // Only sends reach the SMS Agent: with the waiting reply's, five fail in a row, the breaker's threshold.
    const debtors = [1, 2, 3, 4].map((n) => ({ id: `conv-fault-a${n}`, phone: `+1555010810${n}` }));
    for (const debtor of debtors) await smsIn(debtor.id, debtor.phone);
    await approveAsDrafted(harness.url, manager(), 'conv-fault-a0', 'fault-approve-a0');
    for (const id of ['conv-fault-a0', ...debtors.map((debtor) => debtor.id)]) await waitForFailedTry(id);

    const health = await request(harness.url).get('/health/dependencies').set(manager()).expect(200);
    expect(health.body.sms_agent).toBe('down');
    expect(health.body.details.sms_agent.breaker).toBe('open');
    // The thread is read from our own records: drafting goes on through the outage, the hand-off waits.
    for (const debtor of debtors) expect(await stateOf(debtor.id)).toBe('sending.handingOff');
    expect(sms.sent).toHaveLength(0); // nothing got through

    await clearFault(smsUrl);
    await new Promise((resolve) => setTimeout(resolve, 400)); // the breaker half-opens
    await retryUntil(debtors.map((debtor) => debtor.id), 'awaitingReply');
    await retryUntil(['conv-fault-a0'], 'negotiating.awaitingConfirmation');
    for (const phone of ['+15550108100', ...debtors.map((debtor) => debtor.phone)]) {
      expect(sms.sent.filter((text) => text.to === phone)).toHaveLength(1);
      expect(arrivalsTo(sms, phone)).toBe(1);
    }
  });

  it('when the SMS Agent refuses sends for longer than the counted tries, then the text waits on a durable timer and goes out once after recovery, with no manager action', async () => {
    const { sms, smsUrl } = await start();
    await injectFault(smsUrl, { mode: 'fail_sends' });
    await smsIn('conv-fault-w', '+15550108301');
    await waitForState(harness.orchestrator, 'conv-fault-w', ['sending.handingOff']);
    // Twice the counted attempts (4), the breaker opening and half-opening between them.
    await nudgeUntil('conv-fault-w', async () => (await sendTries('conv-fault-w')) >= 8 || (await stateOf('conv-fault-w')) === 'failed', 'eight tries of the send');
    expect(await stateOf('conv-fault-w')).toBe('sending.handingOff');
    const [queued] = await queuedJobs(harness.testDb.db, 'conv-fault-w', 'invoke');
    expect(queued!.run_at.getTime()).toBeGreaterThan(Date.now()); // put back on a timer, not spinning

    await clearFault(smsUrl);
    await retryUntil(['conv-fault-w'], 'awaitingReply');
    expect(sms.sent.filter((text) => text.to === '+15550108301')).toHaveLength(1);
    expect(staffToldFailed('conv-fault-w')).toEqual([]);
  });

  it('when the SMS Agent stays down past SEND_RETRY_WINDOW, then the send fails and staff are told', async () => {
    const { sms, smsUrl } = await start({}, { SEND_RETRY_WINDOW: '1s' });
    await injectFault(smsUrl, { mode: 'fail_sends' });
    await smsIn('conv-fault-x', '+15550108302');
    await waitForState(harness.orchestrator, 'conv-fault-x', ['sending.handingOff']);
    await nudgeUntil('conv-fault-x', async () => (await stateOf('conv-fault-x')) === 'failed', 'the send to fail');
    await waitFor(() => staffToldFailed('conv-fault-x').length === 1, 10_000, 'staff to be told');
    expect(sms.sent).toHaveLength(0);
    await clearFault(smsUrl);
  });

  it('when the SMS Agent stores a text but answers after our timeout, then the retry finds it in the history and never sends it again', async () => {
    const { sms, smsUrl } = await start();
    // Answers to sends are held for as long as the fault lasts: each send the service makes times out.
    await injectFault(smsUrl, { mode: 'timeout_after_receive' });
    await smsIn('conv-fault-c', '+15550108201');
    await waitFor(() => arrivalsTo(sms, '+15550108201') === 1, 10_000, 'the send to arrive');
    await waitForFailedTry('conv-fault-c');
    const row = await harness.testDb.db.selectFrom('outbound_messages').select('status').where('conversation_id', '=', 'conv-fault-c').executeTakeFirstOrThrow();
    expect(row.status).toBe('sending'); // outcome unknown

    // Still timing out: a blind resend would arrive (and hang) again; the reconciled retry sends nothing.
    await retryUntil(['conv-fault-c'], 'awaitingReply');
    expect(arrivalsTo(sms, '+15550108201')).toBe(1);
    expect(sms.sent.filter((text) => text.to === '+15550108201')).toHaveLength(1);
    const accepted = await harness.testDb.db.selectFrom('outbound_messages').select(['status', 'sms_agent_id', 'attempts']).where('conversation_id', '=', 'conv-fault-c').executeTakeFirstOrThrow();
    expect(accepted).toEqual({ status: 'accepted', sms_agent_id: sms.sent[0].id, attempts: 1 });
    await clearFault(smsUrl);
  });
});
