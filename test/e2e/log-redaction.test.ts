import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestOrchestrator, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/** No phone number and no message text reaches the logs at info level, along every path of a conversation. */

const logLines: string[] = [];
let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({ LOG_LEVEL: 'info' }, { logLines });
});
afterAll(() => harness.stop());

const PHONE = '+15550177123';
const TEXTS = ['Hi, what is my balance?', 'I can pay $35 a week for 9 weeks', 'talk to my lawyer'];

describe('log redaction', () => {
  it('when conversations go through auto-send, approval, escalation and failures, then logs hold no phone and no text', async () => {
    const service = { Authorization: `Bearer ${harness.token('service')}` };
    for (const [index, content] of TEXTS.entries()) {
      await request(harness.url)
        .post('/orchestrate/sms-received')
        .set(service)
        .set('Idempotency-Key', `redact-${index}`)
        .send({ tenant_id: 'tenant-r', phone_number: PHONE, content, conversation_id: `conv-redact-${index}` })
        .expect(202);
      await waitForState(harness.orchestrator, `conv-redact-${index}`, ['awaitingReply', 'pendingApproval', 'escalated']);
    }
    // A refused request and a failing downstream service log too.
    await request(harness.url).post('/orchestrate/sms-received').set(service).send({ tenant_id: 't', phone_number: PHONE, content: '' }).expect(400);
    harness.orchestrator.simulators!.sms.failNext(10, 400);
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service)
      .set('Idempotency-Key', 'redact-fail')
      .send({ tenant_id: 'tenant-r', phone_number: PHONE, content: TEXTS[0], conversation_id: 'conv-redact-fail' })
      .expect(202);
    await waitForState(harness.orchestrator, 'conv-redact-fail', ['failed']);

    const logs = logLines.join('');
    expect(logs).toContain('invoke failed for good');
    expect(logs).toContain('draft recorded');
    expect(logs).not.toContain('5550177123');
    for (const text of TEXTS) expect(logs).not.toContain(text);
  });
});
