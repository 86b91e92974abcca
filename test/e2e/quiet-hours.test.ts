import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runJobNow } from '../helpers/jobs.js';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';
import { pendingApproval } from '../helpers/approvals.js';

/**
 * Quiet hours at send time, with an injectable clock: an approved draft whose send time falls at 21:30 in
 * the debtor's zone waits, durably, for 08:00 the next morning, and not a second less.
 */

let harness: TestOrchestrator;
let clockOffsetMs = 0;
const clock = () => Date.now() + clockOffsetMs;
/** Sets the service's clock to an instant, from which it runs on in real time. */
const setClock = (iso: string) => {
  clockOffsetMs = Date.parse(iso) - Date.now();
};

beforeAll(async () => {
  harness = await startTestOrchestrator({}, { clock });
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager', 'mia')}` });

describe('quiet hours', () => {
  it('when a manager approves at 21:30 debtor time, then the text waits in sending.waitingForWindow and goes out at 08:00, not before', async () => {
    const phone = '+15550600001';
    const conversationId = 'conv-quiet-1';
    harness.orchestrator.simulators!.monitor.setTenant('tenant-quiet', { time_zone: 'America/Chicago' });
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .send({ tenant_id: 'tenant-quiet', phone_number: phone, content: 'I lost my job last month', conversation_id: conversationId, message_id: 'quiet-m1' })
      .expect(202);
    await waitForState(harness.orchestrator, conversationId, ['pendingApproval']);
    const item = (await pendingApproval(harness.url, manager(), conversationId))!;

    // 21:30 in Chicago on 2026-12-01 (CST, UTC−6), long after the debtor wrote: no reply exception.
    setClock('2026-12-02T03:30:00Z');
    await request(harness.url).post('/orchestrate/approve-response').set(manager()).send({ response_queue_id: item.response_queue_id, action: 'approve' }).expect(202);
    await waitForState(harness.orchestrator, conversationId, ['sending.waitingForWindow']);
    const decisions = () => harness.orchestrator.db.selectFrom('compliance_decisions').select(['rule', 'decision', 'detail']).where('conversation_id', '=', conversationId).orderBy('id').execute();
    expect(await decisions()).toEqual([{ rule: 'quiet_hours', decision: 'deferred', detail: 'deferred until 2026-12-02 08:00 America/Chicago' }]);
    const sentTo = () => harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone);
    expect(sentTo()).toEqual([]);
    // The gate claimed the text with its read and gave the claim back: on record as held, never sent.
    const outbound = () => harness.orchestrator.db.selectFrom('outbound_messages').select(['status', 'attempts']).where('conversation_id', '=', conversationId).execute();
    expect(await outbound()).toEqual([{ status: 'held', attempts: 1 }]);

    // 07:59:58 the next morning: the timer fires (made due now), the gate checks again and defers to 08:00.
    setClock('2026-12-02T13:59:58Z');
    expect(await runJobNow(harness.orchestrator.db, `timer:${conversationId}:timer.send_window`)).toBe(1);
    await waitFor(async () => (await decisions()).length === 2, 10_000, 'the second deferral');
    expect((await decisions())[1].detail).toBe('deferred until 2026-12-02 08:00 America/Chicago');
    expect(sentTo()).toEqual([]);

    // At 08:00 the text goes out, once.
    await waitForState(harness.orchestrator, conversationId, ['awaitingReply'], 15_000);
    const sentAt = clock();
    expect(sentTo()).toHaveLength(1);
    expect(sentAt).toBeGreaterThanOrEqual(Date.parse('2026-12-02T14:00:00Z'));
    // The same row, claimed again at 08:00 as a first attempt: no earlier try of unknown outcome to reconcile.
    expect(await outbound()).toEqual([{ status: 'accepted', attempts: 1 }]);
    const trail = await request(harness.url).get(`/v1/conversations/${conversationId}/transitions`).set(manager()).expect(200);
    expect(trail.body.transitions.map((t: { to_state: string }) => t.to_state)).toEqual(
      expect.arrayContaining(['sending.handingOff', 'sending.waitingForWindow', 'sent', 'awaitingReply']),
    );
  }, 40_000);

  it('when the debtor writes at 22:00 their time, then the reply goes out at once (one reply to their own message)', async () => {
    const phone = '+15550600002';
    harness.orchestrator.simulators!.monitor.setTenant('tenant-night', { time_zone: 'America/Chicago' });
    setClock('2026-12-02T04:00:00Z');
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      // The event's time is the service's clock too, so the reply is within the reply window.
      .send({ tenant_id: 'tenant-night', phone_number: phone, content: 'Hello', conversation_id: 'conv-quiet-2', message_id: 'quiet-m2' })
      .expect(202);
    const state = await waitForState(harness.orchestrator, 'conv-quiet-2', ['awaitingReply', 'sending.waitingForWindow']);
    expect(state).toBe('awaitingReply');
    expect(harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === phone)).toHaveLength(1);
  });
});
