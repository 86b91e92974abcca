import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import request from 'supertest';
import { createLogger } from '../../src/logger.js';
import { startTestOrchestrator, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/** No phone number and no message text reaches the logs at any level, along every path of a conversation. */

const logLines: string[] = [];
let harness: TestOrchestrator;
beforeAll(async () => {
  // trace: every line the service can write, debug and trace included, is searched.
  harness = await startTestOrchestrator({ LOG_LEVEL: 'trace' }, { logLines });
});
afterAll(() => harness.stop());

const PHONE = '+15550177123';
const TEXTS = ['Hi, what is my balance?', 'I can pay $35 a week for 9 weeks', 'talk to my lawyer'];
/** The number as the debtor's phone, typed another way, and the digits alone: none may appear. */
const PHONE_FORMS = ['5550177123', '555) 017-7123', '555-017-7123', '555 017 7123'];

function expectNoPersonalData(logs: string) {
  for (const form of PHONE_FORMS) expect(logs).not.toContain(form);
  for (const text of TEXTS) expect(logs).not.toContain(text);
}

describe('log redaction', () => {
  it('when conversations go through auto-send, approval, escalation and failures, then logs at every level, trace included, hold no phone and no text', async () => {
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

    // Refused at the edge: a text with a NUL in a field that must be text, a garbage number, a mismatch.
    await request(harness.url).post('/orchestrate/sms-received').set(service).send({ tenant_id: `t\u0000${TEXTS[1]}`, phone_number: PHONE, content: TEXTS[1] }).expect(400);
    await request(harness.url).post('/orchestrate/sms-received').set(service).send({ tenant_id: 'tenant-r', phone_number: `${PHONE}x`, content: TEXTS[2] }).expect(400);
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service)
      .send({ tenant_id: 'tenant-other', phone_number: '+1 (555) 017-7123', content: TEXTS[2], conversation_id: 'conv-redact-0' })
      .expect(409);

    const logs = logLines.join('');
    expect(logs).toContain('invoke failed for good');
    expect(logs).toContain('draft made');
    expect(logs).toContain('"level":20'); // debug lines were written (nothing logs at trace today), and searched
    expectNoPersonalData(logs);
  });

  it('when a database error quotes a debtor text, then its log line has the code, table and routine but not the text', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
    // Postgres quotes the offending JSON in the error's message, detail and where.
    const error = await sql`select ${`{"text": "${TEXTS[2]} ${PHONE}`}::jsonb`.execute(harness.orchestrator.db).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).toContain(TEXTS[2]);
    logger.error({ err: error }, 'request failed');
    logger.warn({ err: new Error(`wrapped`, { cause: error }) }, 'wrapped');
    const logs = lines.join('');
    expect(logs).toContain('"code":"22P02"');
    expect(logs).toContain('"routine"');
    expectNoPersonalData(logs);
    expect(logs).not.toContain(PHONE);
  });
});
