import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createNotificationSimulator, createSmsAgentSimulator } from '../../src/simulators/index.js';

/** The simulators' fault control endpoint: what each mode does to reads, writes and /health, and when it is shut. */

const sms = createSmsAgentSimulator({ faultControl: true });
afterEach(() => sms.reset());

const send = (to = '+15550109001') => request(sms.app).post('/sms/send').send({ to, body: 'Hello from the test' });

describe('simulator fault control (/_control/faults)', () => {
  it('when the simulator was started without control (production never has it), then every control call is a 403', async () => {
    const shut = createNotificationSimulator();
    for (const call of [request(shut.app).get('/_control/faults'), request(shut.app).post('/_control/faults').send({ mode: 'down' }), request(shut.app).delete('/_control/faults')]) {
      const response = await call.expect(403);
      expect(response.body.error.code).toBe('fault_control_disabled');
    }
    await request(shut.app).get('/health').expect(200);
  });

  it('when a fault is malformed, then it is a 400 in the services error shape and nothing changes', async () => {
    for (const body of [{ mode: 'flaky' }, { mode: 'down', for_ms: -1 }, { mode: 'down', extra: 1 }, {}]) {
      const response = await request(sms.app).post('/_control/faults').send(body).expect(400);
      expect(response.body.error.code).toBe('validation_error');
    }
    expect((await request(sms.app).get('/_control/faults').expect(200)).body.fault).toBeNull();
  });

  it('when the agent is down, then /health, reads and sends answer 503 and nothing is stored, until it is cleared', async () => {
    await request(sms.app).post('/_control/faults').send({ mode: 'down' }).expect(201);
    await request(sms.app).get('/health').expect(503);
    await request(sms.app).get('/conversations/+15550109001').expect(503);
    await send().expect(503);
    expect(sms.sent).toHaveLength(0);
    await request(sms.app).delete('/_control/faults').expect(200);
    await request(sms.app).get('/health').expect(200);
    await send().expect(202);
    expect(sms.sent).toHaveLength(1);
  });

  it('when sends fail, then reads and /health still answer; with count the fault ends after that many sends', async () => {
    const { body } = await request(sms.app).post('/_control/faults').send({ mode: 'fail_sends', count: 2, status: 502 }).expect(201);
    expect(body.fault).toMatchObject({ mode: 'fail_sends', status: 502, remaining: 2, until: null });
    await request(sms.app).get('/health').expect(200);
    await request(sms.app).get('/conversations/+15550109001').expect(200);
    await send().expect(502);
    await send().expect(502);
    await send().expect(202);
    expect(sms.sent).toHaveLength(1);
  });

  it('when a fault has for_ms, then it ends by itself', async () => {
    await request(sms.app).post('/_control/faults').send({ mode: 'down', for_ms: 100 }).expect(201);
    await request(sms.app).get('/health').expect(503);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await request(sms.app).get('/health').expect(200);
  });

  it('when answers time out after receipt, then the text is stored at once, reads answer, and the held answer is released when the fault is cleared', async () => {
    await request(sms.app).post('/_control/faults').send({ mode: 'timeout_after_receive' }).expect(201);
    const held = send('+15550109002').then((response) => response.status);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sms.sent.map((text) => text.to)).toEqual(['+15550109002']);
    const history = await request(sms.app).get('/conversations/+15550109002').expect(200);
    expect(history.body.messages).toHaveLength(1);
    let answered = false;
    void held.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    await request(sms.app).delete('/_control/faults').expect(200);
    expect(await held).toBe(202);
  });

  it('when answers are late by delay_ms, then they come after that long', async () => {
    await request(sms.app).post('/_control/faults').send({ mode: 'timeout_after_receive', delay_ms: 200 }).expect(201);
    const started = Date.now();
    await send().expect(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(sms.arrivals).toEqual([{ to: '+15550109001', idempotencyKey: undefined, replay: false }]);
  });
});
