import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { describeDatabase } from '../../src/composition.js';
import { startTestOrchestrator, waitFor, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Access logs: one line per request, by route template, with status, duration and request id; nothing personal.
 * And the start-up banner: what a newcomer needs next.
 */

const logLines: string[] = [];
let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({ LOG_LEVEL: 'info' }, { logLines, worker: false });
});
afterAll(() => harness.stop());

const accessLines = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request completed' || line.msg === 'request failed');

describe('access logs', () => {
  it('when requests are answered, then each has one line with the route template, status, duration and request id, and no id, number or text', async () => {
    const phone = '+15550401234';
    const content = 'my secret words about money';
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set('Authorization', `Bearer ${harness.token('service')}`)
      .set('X-Request-Id', 'access-1')
      .send({ tenant_id: 'tenant-log', phone_number: phone, content, conversation_id: 'conv-access-secret-1', message_id: 'm-access-1' })
      .expect(202);
    await request(harness.url).get('/v1/conversations/conv-access-secret-1').query({ q: phone }).set('Authorization', `Bearer ${harness.token('manager')}`).set('X-Request-Id', 'access-2').expect(200);
    await request(harness.url).get('/v1/conversations/conv-access-missing').set('Authorization', `Bearer ${harness.token('manager')}`).set('X-Request-Id', 'access-3').expect(404);
    await request(harness.url).get('/nowhere/conv-access-secret-1').set('X-Request-Id', 'access-4').expect(401);

    const lines = await waitFor(() => (accessLines().length >= 4 ? accessLines() : false), 5_000, 'four access lines');
    const byId = (id: string) => lines.filter((line) => line.requestId === id);
    expect(byId('access-1')).toEqual([expect.objectContaining({ level: 30, method: 'POST', route: '/orchestrate/sms-received', status: 202, ms: expect.any(Number) })]);
    expect(byId('access-2')).toEqual([expect.objectContaining({ method: 'GET', route: '/v1/conversations/:id', status: 200 })]);
    expect(byId('access-3')).toEqual([expect.objectContaining({ route: '/v1/conversations/:id', status: 404 })]);
    expect(byId('access-4')).toEqual([expect.objectContaining({ route: 'unmatched', status: 401 })]);

    const text = JSON.stringify(lines);
    for (const secret of [phone, '5550401234', content, 'conv-access-secret-1', 'conv-access-missing', 'tenant-log', 'Bearer']) expect(text).not.toContain(secret);
    // The request id appears once per line (the logger's own mixin and pino-http do not both write it).
    for (const line of logLines.filter((raw) => raw.includes('"request completed"'))) expect(line.match(/"requestId"/g)).toHaveLength(1);
  });

  it('when a load balancer polls /health, then its lines are debug, not info', async () => {
    await request(harness.url).get('/health').expect(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(accessLines().filter((line) => line.route === '/health')).toEqual([]);
  });
});

describe('the start-up banner', () => {
  it('when the service starts, then one info line gives the URL, docs, how to get tokens, the simulators and the database without credentials', () => {
    const banner = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => typeof line.msg === 'string' && line.msg.startsWith('ready at '));
    expect(banner).toHaveLength(1);
    const line = banner[0]!;
    expect(line).toMatchObject({ level: 30, url: harness.url, docs: `${harness.url}/docs`, openapi: `${harness.url}/openapi.json`, drafter: 'rules' });
    expect(line.msg).toContain('npm run --silent token -- service');
    expect(line.msg).toContain('manager <name>');
    expect(line.msg).toContain(`${harness.url}/docs`);
    // The console's page, as people type it (the test setup builds its assets).
    const consoleUrl = `${harness.url.replace('127.0.0.1', 'localhost')}/console`;
    expect(line.console).toBe(consoleUrl);
    expect(line.msg).toContain(`console ${consoleUrl}`);
    expect(line.simulators).toMatchObject({ smsAgent: expect.stringMatching(/^http:/) });
    const url = new URL(harness.testDb.url);
    expect(line.database).toContain(url.hostname);
    if (url.password) expect(JSON.stringify(line)).not.toContain(url.password);
  });

  it('when DATABASE_URL has credentials, then the banner shows its host, port and database only; without it, the embedded directory', () => {
    expect(describeDatabase({ databaseUrl: 'postgres://app:s3cret@db.example.supabase.co:5432/postgres?sslmode=require', dataDir: '.data', embeddedPgPort: 54329 })).toBe(
      'db.example.supabase.co:5432/postgres (DATABASE_URL)',
    );
    expect(describeDatabase({ databaseUrl: undefined, dataDir: '/var/lib/orch', embeddedPgPort: 54329 })).toBe('embedded PostgreSQL in /var/lib/orch/pg (port 54329)');
  });
});
