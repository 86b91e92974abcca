import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServiceClients, languageOf, parseAmountToCents, type ResilienceOptions } from '../../src/adapters/clients/index.js';
import { createServiceHttp } from '../../src/adapters/clients/service-http.js';
import { ServiceError } from '../../src/errors.js';
import { createLogger, requestContext } from '../../src/logger.js';
import { simulatedTenant, startSimulators, type RunningSimulators } from '../../src/simulators/index.js';

const logger = createLogger({ level: 'silent' });
const PHONE = '+15550001111';
let sims: RunningSimulators;

/** Fresh clients (so fresh breakers) per test; tiny backoff keeps the file fast. */
function clients(options: { timeoutMs?: number; onCall?: (service: string, outcome: string, seconds: number) => void } & ResilienceOptions = {}) {
  const { timeoutMs = 2_000, onCall, ...resilience } = options;
  return createServiceClients({
    urls: sims.urls,
    timeoutMs,
    token: () => 'test-service-token',
    logger,
    onCall,
    resilience: { backoffInitialMs: 5, backoffMaxMs: 20, ...resilience },
  });
}

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ServiceError);
  return error as ServiceError;
}

beforeAll(async () => {
  sims = await startSimulators({ basePort: 0, logger });
});
afterAll(async () => {
  await sims.close();
});
beforeEach(() => sims.reset());

describe('collections monitor client', () => {
  it('when a tenant is fetched, then the simulator record arrives mapped, with integer cents', async () => {
    const { services } = clients();
    const tenant = await services.collectionsMonitor.getTenant('tenant-123');
    const raw = simulatedTenant('tenant-123');
    expect(tenant).toEqual({
      tenantId: 'tenant-123',
      tenantName: raw.tenant_name,
      amountOwedCents: parseAmountToCents(raw.amount_owed),
      daysLate: raw.days_late,
      language: 'en',
      phoneNumbers: raw.phone_numbers,
      paymentReliabilityScore: raw.payment_reliability_score,
      failedPaymentPlans: raw.failed_payment_plans,
      timeZone: null,
    });
    expect(Number.isInteger(tenant.amountOwedCents)).toBe(true);
    expect(await services.collectionsMonitor.getTenant('tenant-123')).toEqual(tenant);
  });

  it('when amount_owed is "1250.50", "99.9" or "100", then cents are exact', async () => {
    const { services } = clients();
    for (const [amount, cents] of [['1250.50', 125_050], ['99.9', 9_990], ['100', 10_000], ['0.29', 29], ['1.005', 101]] as const) {
      sims.monitor.setTenant('t-amount', { amount_owed: amount });
      expect((await services.collectionsMonitor.getTenant('t-amount')).amountOwedCents).toBe(cents);
    }
    expect(parseAmountToCents('$1,250.5')).toBe(125_050);
    expect(parseAmountToCents('twelve')).toBeUndefined();
  });

  it('when the tenant id marks Spanish, then the language is es', async () => {
    const { services } = clients();
    expect((await services.collectionsMonitor.getTenant('es-1042')).language).toBe('es');
    expect((await services.collectionsMonitor.getTenant('tenant-es')).language).toBe('es');
    sims.monitor.setTenant('t-lang', { language_preference: 'Spanish' });
    expect((await services.collectionsMonitor.getTenant('t-lang')).language).toBe('es');
    expect(['es-MX', 'ESPAÑOL', 'english', '', null].map(languageOf)).toEqual(['es', 'es', 'en', 'en', 'en']);
  });

  it('when the monitor answers an unusable tenant, then a non-retryable ServiceError names the field', async () => {
    sims.monitor.setTenant('t-bad', { amount_owed: 'lots' });
    const error = await failure(clients().services.collectionsMonitor.getTenant('t-bad'));
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('collections_monitor_unavailable');
  });

  it('when a tenant id is a dot segment (".", ".."), then no call leaves (it would name /monitor/ or /monitor/tenant/) and the error is final', async () => {
    const calls: string[] = [];
    const { services } = clients({ onCall: (service) => calls.push(service) });
    for (const tenantId of ['.', '..', '']) {
      const error = await failure(services.collectionsMonitor.getTenant(tenantId));
      expect(error.retryable).toBe(false);
    }
    expect(calls).toEqual([]);
    // Any other id is one encoded path segment: a slash or a question mark cannot reach another route.
    await expect(services.collectionsMonitor.getTenant('a/b?c#d')).resolves.toMatchObject({ tenantId: 'a/b?c#d' });
    expect(calls).toEqual(['collections_monitor']);
  });

  it('when a call is made inside a request, then the token and the request id travel with it', async () => {
    const { services } = clients();
    await requestContext.run({ requestId: 'req-42' }, () => services.collectionsMonitor.getTenant('tenant-1'));
    expect(sims.monitor.lastHeaders.authorization).toBe('Bearer test-service-token');
    expect(sims.monitor.lastHeaders['x-request-id']).toBe('req-42');
  });
});

describe('sms agent client', () => {
  it('when a text is sent and one received, then history holds both, oldest first', async () => {
    const { services } = clients();
    sims.sms.recordInbound(PHONE, 'I can pay next week');
    const { id } = await services.smsAgent.send({ to: PHONE, body: 'Thanks, noted.', conversationId: 'conv-1' }, 'key-1');
    expect(sims.sms.lastHeaders['idempotency-key']).toBe('key-1');
    const history = await services.smsAgent.history(PHONE);
    expect(history.map(({ direction, content }) => [direction, content])).toEqual([
      ['inbound', 'I can pay next week'],
      ['outbound', 'Thanks, noted.'],
    ]);
    expect(history[1]).toMatchObject({ id, deliveryStatus: 'delivered' });
    expect(await services.smsAgent.history('+15559999999')).toEqual([]);
  });

  it('when the same idempotency key is sent twice, then one text is stored and the same id answered', async () => {
    const { services } = clients();
    const first = await services.smsAgent.send({ to: PHONE, body: 'Hello', conversationId: 'conv-1' }, 'same-key');
    const second = await services.smsAgent.send({ to: PHONE, body: 'Hello', conversationId: 'conv-1' }, 'same-key');
    expect(second).toEqual(first);
    expect(sims.sms.sent).toHaveLength(1);
  });

  it('when the agent answers 503 twice to a history read, then the read is retried and succeeds', async () => {
    sims.sms.recordInbound(PHONE, 'Hello?');
    sims.sms.failNext(2, 503);
    const history = await clients().services.smsAgent.history(PHONE);
    expect(history.map(({ content }) => content)).toEqual(['Hello?']);
    expect(sims.sms.requestCount).toBe(3);
  });

  it('when the agent answers 503 to a send, then the send is not repeated and the error is retryable', async () => {
    sims.sms.failNext(1, 503);
    const error = await failure(clients().services.smsAgent.send({ to: PHONE, body: 'Hi', conversationId: 'conv-1' }, 'key-503'));
    expect(error).toMatchObject({ retryable: true, upstreamStatus: 503, service: 'sms_agent' });
    expect(sims.sms.requestCount).toBe(1);
    expect(sims.sms.sent).toHaveLength(0);
  });

  it('when sends fail while history reads succeed, then the last send outcome says so (for /health/dependencies); a 400 does not count', async () => {
    const client = clients();
    expect(client.lastOutcome.sms_agent!('sms.send')).toBeNull();
    sims.sms.failNext(1, 503);
    await failure(client.services.smsAgent.send({ to: PHONE, body: 'Hi', conversationId: 'conv-1' }, 'key-outcome-503'));
    await client.services.smsAgent.history(PHONE);
    expect(client.lastOutcome.sms_agent!('sms.send')).toMatchObject({ ok: false });
    expect(client.lastOutcome.sms_agent!('sms.history')).toMatchObject({ ok: true });
    await failure(client.services.smsAgent.send({ to: 'not-a-phone', body: 'Hi', conversationId: 'c' }, 'key-outcome-400'));
    expect(client.lastOutcome.sms_agent!('sms.send')).toMatchObject({ ok: false });
    await client.services.smsAgent.send({ to: PHONE, body: 'Hi', conversationId: 'conv-1' }, 'key-outcome-ok');
    expect(client.lastOutcome.sms_agent!('sms.send')).toMatchObject({ ok: true });
  });

  it('when the agent answers 400, then it is not retried and the error is not retryable', async () => {
    const error = await failure(clients().services.smsAgent.send({ to: 'not-a-phone', body: 'Hi', conversationId: 'c' }, 'key-400'));
    expect(error).toMatchObject({ retryable: false, upstreamStatus: 400, service: 'sms_agent' });
    expect(error.message).toContain('validation_error');
    expect(error.message).not.toContain('not-a-phone');
    expect(sims.sms.requestCount).toBe(1);
  });

  it('when the agent accepts a send but answers after the timeout, then it receives exactly one POST and the error is retryable', async () => {
    sims.sms.setResponseDelay(500);
    const error = await failure(
      clients({ timeoutMs: 100 }).services.smsAgent.send({ to: PHONE, body: 'Slow', conversationId: 'c' }, 'key-slow'),
    );
    expect(error.retryable).toBe(true);
    expect(error.upstreamStatus).toBeUndefined();
    expect(error.message).toContain('timed out');
    expect(sims.sms.requestCount).toBe(1);
    expect(sims.sms.sent).toHaveLength(1);
  });

  it('when a history read is slower than the timeout, then it is still tried three times', async () => {
    sims.sms.setResponseDelay(500);
    const error = await failure(clients({ timeoutMs: 100 }).services.smsAgent.history(PHONE));
    expect(error).toMatchObject({ retryable: true, upstreamStatus: undefined });
    expect(sims.sms.requestCount).toBe(3);
  });

  it('when single-attempt sends time out in a row, then they still count towards the breaker', async () => {
    sims.sms.setResponseDelay(300);
    const { services, breakers } = clients({ timeoutMs: 50, breakerThreshold: 2 });
    const send = (key: string) => services.smsAgent.send({ to: PHONE, body: 'Slow', conversationId: 'c' }, key);
    await failure(send('key-b1'));
    await failure(send('key-b2'));
    expect(breakers.sms_agent()).toBe('open');
    expect((await failure(send('key-b3'))).message).toContain('circuit breaker is open');
    expect(sims.sms.requestCount).toBe(2);
  });

  it('when failures are consecutive, then the breaker opens, fails fast, and closes after halfOpenAfter', async () => {
    const { services, breakers } = clients({ attempts: 1, breakerThreshold: 2, halfOpenAfterMs: 250 });
    const send = () => services.smsAgent.send({ to: PHONE, body: 'Hi', conversationId: 'c' }, `key-${Math.random()}`);
    sims.sms.failNext(2, 502);
    await failure(send());
    expect(breakers.sms_agent()).toBe('closed');
    await failure(send());
    expect(breakers.sms_agent()).toBe('open');

    const fast = await failure(send());
    expect(fast.retryable).toBe(true);
    expect(fast.message).toContain('circuit breaker is open');
    expect(sims.sms.requestCount).toBe(2);
    expect(breakers.collections_monitor()).toBe('closed');

    await new Promise((resolve) => setTimeout(resolve, 300));
    await send();
    expect(breakers.sms_agent()).toBe('closed');
    expect(sims.sms.requestCount).toBe(3);
  });

  it('when calls succeed, fail, time out and meet an open breaker, then each attempt is reported by service with its outcome (metrics)', async () => {
    const calls: Array<[string, string]> = [];
    // A timeout generous enough for a loaded machine, and a delay well past it.
    const { services } = clients({ attempts: 2, breakerThreshold: 2, timeoutMs: 500, onCall: (service, outcome) => void calls.push([service, outcome]) });
    await services.collectionsMonitor.getTenant('tenant-1');
    sims.sms.failNext(1, 503);
    await services.smsAgent.history(PHONE); // a 503, then the retry succeeds
    sims.sms.failNext(1, 404);
    await services.smsAgent.history(PHONE); // a 404 is an empty history to the caller, a 4xx to the metrics
    sims.sms.setResponseDelay(2_000);
    // Two timeouts in a row open the breaker (a success between failures resets the count).
    await failure(services.smsAgent.send({ to: PHONE, body: 'Slow', conversationId: 'c' }, 'key-slow-1'));
    await failure(services.smsAgent.send({ to: PHONE, body: 'Slow', conversationId: 'c' }, 'key-slow-2'));
    await failure(services.smsAgent.send({ to: PHONE, body: 'Hi', conversationId: 'c' }, 'key-fast'));
    expect(calls).toEqual([
      ['collections_monitor', 'ok'],
      ['sms_agent', 'http_5xx'],
      ['sms_agent', 'ok'],
      ['sms_agent', 'http_4xx'],
      ['sms_agent', 'timeout'],
      ['sms_agent', 'timeout'],
      ['sms_agent', 'breaker_open'],
    ]);
  });

  it('when 4xx answers repeat, then the breaker stays closed', async () => {
    const { services, breakers } = clients({ attempts: 1, breakerThreshold: 2 });
    sims.sms.failNext(3, 409);
    for (let i = 0; i < 3; i += 1) {
      expect((await failure(services.smsAgent.history(PHONE))).retryable).toBe(false);
    }
    expect(breakers.sms_agent()).toBe('closed');
  });

  it('when the caller aborts, then the call stops without retries and stays retryable', async () => {
    sims.sms.setResponseDelay(1_000);
    const controller = new AbortController();
    const pending = clients().services.smsAgent.history(PHONE, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const error = await failure(pending);
    expect(error.retryable).toBe(true);
    expect(sims.sms.requestCount).toBe(1);
  });
});

describe('notification client', () => {
  const notification = {
    channel: 'email',
    recipient: 'collections-managers',
    subject: 'Plan agreed',
    body: 'Tenant tenant-1 agreed to 3 payments',
    priority: 'high' as const,
    metadata: { conversationId: 'conv-1' },
  };

  it('when the same idempotency key is sent twice, then one notification is stored and the same tracking id answered', async () => {
    const { services } = clients();
    const first = await services.notifications.send(notification, 'ntf-key');
    const second = await services.notifications.send(notification, 'ntf-key');
    expect(second).toEqual(first);
    expect(sims.notifications.received).toHaveLength(1);
    expect(sims.notifications.received[0]).toMatchObject({
      channel: 'email',
      content: { subject: 'Plan agreed', body: notification.body },
      priority: 'high',
      metadata: { conversationId: 'conv-1' },
      tracking_id: first.trackingId,
    });
  });

  it('when the priority is unknown, then the service answers 400 and nothing is stored', async () => {
    const error = await failure(clients().services.notifications.send({ ...notification, priority: 'urgent' as never }, 'ntf-bad'));
    expect(error).toMatchObject({ retryable: false, upstreamStatus: 400 });
    expect(sims.notifications.received).toHaveLength(0);
  });
});

describe('a downstream call that gets no usable answer', () => {
  /** A server answering every request with `status` and `body` (and counting them), for what the simulators never do. */
  async function answering(status: number, body: string, headers: Record<string, string> = {}) {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests += 1;
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, requests: () => requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  function serviceAt(baseUrl: string, outcomes: string[] = []) {
    return createServiceHttp({ service: 'sms_agent', baseUrl, token: () => 't', logger, backoffInitialMs: 5, backoffMaxMs: 20, observe: (outcome) => void outcomes.push(outcome) });
  }

  it('when nothing listens at the address, then the call is tried three times, says it is unreachable and stays retryable', async () => {
    const closed = await answering(200, '{}');
    await closed.close();
    const outcomes: string[] = [];
    const error = await failure(serviceAt(closed.url, outcomes).request('GET', '/health'));
    expect(error).toMatchObject({ retryable: true, upstreamStatus: undefined });
    expect(error.message).toContain('unreachable (ECONNREFUSED)');
    expect(outcomes).toEqual(['network', 'network', 'network']);
  });

  it('when the answer is a redirect, then it is neither followed nor retried, and the error is final', async () => {
    const redirecting = await answering(302, '', { location: 'http://127.0.0.1:1/elsewhere' });
    try {
      const error = await failure(serviceAt(redirecting.url).request('POST', '/sms/send', { json: { to: PHONE } }));
      expect(error).toMatchObject({ retryable: false, upstreamStatus: 302 });
      expect(redirecting.requests()).toBe(1);
    } finally {
      await redirecting.close();
    }
  });

  it('when a 2xx body is not JSON, then the error says so and is final', async () => {
    const garbled = await answering(200, '<html>oops</html>');
    try {
      const outcomes: string[] = [];
      const error = await failure(serviceAt(garbled.url, outcomes).request('GET', '/monitor/tenant/t1'));
      expect(error).toMatchObject({ retryable: false });
      expect(error.message).toContain('not JSON');
      expect(outcomes).toEqual(['invalid_response']);
      expect(garbled.requests()).toBe(1);
    } finally {
      await garbled.close();
    }
  });
});
