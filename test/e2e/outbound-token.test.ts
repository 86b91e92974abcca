import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { loadConfig } from '../../src/config.js';
import { startTestOrchestrator, TEST_JWT_SECRET, waitFor, type TestOrchestrator } from '../helpers/orchestrator.js';

const AUDIENCE = 'downstream-services';
let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({ OUTBOUND_JWT_AUDIENCE: AUDIENCE });
});
afterAll(() => harness.stop());

describe('the token we send downstream', () => {
  it('when a downstream service replays our token against our API, then it is refused', async () => {
    const sms = { tenant_id: 'tenant-out', phone_number: '+15550188001', content: 'Hi, what is my balance?', conversation_id: 'conv-out-1' };
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set('Authorization', `Bearer ${harness.token('service')}`)
      .set('Idempotency-Key', 'out-msg-1')
      .send(sms)
      .expect(202);
    // The worker fetches the tenant: the Collections Monitor sees exactly what any downstream service sees.
    const monitor = harness.orchestrator.simulators!.monitor;
    const header = await waitFor(() => monitor.lastHeaders.authorization as string | undefined, 15_000, 'a call to the Collections Monitor');
    const token = header.replace(/^Bearer /, '');

    // Signed with the outbound secret (the development default here), for the configured audience.
    expect(jwt.verify(token, loadConfig({}).outboundJwt.secret, { algorithms: ['HS256'], audience: AUDIENCE })).toMatchObject({
      sub: 'orchestrator',
      role: 'service',
      aud: AUDIENCE,
    });
    expect(() => jwt.verify(token, TEST_JWT_SECRET, { algorithms: ['HS256'] })).toThrow(/invalid signature/);

    const replayed = await request(harness.url)
      .post('/orchestrate/sms-received')
      .set('Authorization', header)
      .set('Idempotency-Key', 'out-msg-replay')
      .send({ ...sms, conversation_id: 'conv-out-replay' })
      .expect(401);
    expect(replayed.body).toMatchObject({ error: { code: 'unauthorized' } });
    await request(harness.url).get('/v1/conversations/conv-out-1').set('Authorization', header).expect(401);
    const written = await harness.orchestrator.db.selectFrom('conversations').select('id').where('id', '=', 'conv-out-replay').executeTakeFirst();
    expect(written).toBeUndefined();
  });
});
