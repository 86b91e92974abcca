import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { derivedConversationId } from '../../src/http/conversation-identity.js';
import { adoptDefaultConversations } from '../../migrations/202612041010_default_conversation_per_phone.js';
import { DEV_ORG_ID } from '../../src/config.js';
import { signToken } from '../../src/http/auth.js';
import { startTestOrchestrator, TEST_JWT_SECRET, type TestOrchestrator } from '../helpers/orchestrator.js';

/** The HTTP edge against hostile or sloppy input: text, phone numbers, conversation identity, tokens. No worker: only what a request writes. */

const SECRET = 'edge-test-conversation-id-secret-0123456789';
let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({ CONVERSATION_ID_SECRET: SECRET }, { worker: false });
});
afterAll(() => harness.stop());

const service = () => ({ Authorization: `Bearer ${harness.token('service')}` });
const manager = () => ({ Authorization: `Bearer ${harness.token('manager')}` });
const sms = (body: Record<string, unknown>, key?: string) => {
  const call = request(harness.url).post('/orchestrate/sms-received').set(service());
  return key ? call.set('Idempotency-Key', key).send(body) : call.send(body);
};
const inboundCount = async (conversationId: string) =>
  Number(
    (
      await harness.orchestrator.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('conversation_id', '=', conversationId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('tokens', () => {
  it('when no token is sent with a broken body, then 401 with WWW-Authenticate: Bearer, never a 400', async () => {
    const response = await request(harness.url).post('/orchestrate/sms-received').set('Content-Type', 'application/json').send('{"oops"');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.body).toMatchObject({ error: { code: 'unauthorized' }, request_id: expect.any(String) });
  });

  it('when a token has no exp or lives longer than JWT_MAX_AGE, then 401; a 12-hour token is fine', async () => {
    const forever = jwt.sign({ role: 'manager' }, TEST_JWT_SECRET, { subject: 'm', algorithm: 'HS256' });
    const twoDays = signToken(TEST_JWT_SECRET, 'manager', 'm', '48h');
    for (const token of [forever, twoDays]) {
      const response = await request(harness.url).get('/v1/machine').set('Authorization', `Bearer ${token}`).expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    await request(harness.url).get('/v1/machine').set('Authorization', `Bearer ${signToken(TEST_JWT_SECRET, 'manager', 'm', '12h', { org: DEV_ORG_ID })}`).expect(200);
  });

  it('when the body is not JSON, then 400 invalid_json', async () => {
    const response = await request(harness.url).post('/orchestrate/escalate').set(manager()).set('Content-Type', 'application/json').send('{"a":');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
  });
});

describe('answers', () => {
  it('when an event is answered, then the answer carries no ETag (nothing revalidates it; hashing it cost every event) but a length', async () => {
    const response = await sms({ tenant_id: 'tenant-etag', phone_number: '+15550500009', content: 'hello' }, 'etag-1').expect(202);
    expect(response.headers.etag).toBeUndefined();
    expect(Number(response.headers['content-length'])).toBeGreaterThan(0);
  });

  it('when a client comes back after a quiet spell longer than Node\'s 5 s, then its connection is still open (HTTP_KEEP_ALIVE_TIMEOUT)', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const sockets: Socket[] = [];
    const get = () =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const call = http.get(`${harness.url}/health/live`, { agent }, (response) => response.resume().on('end', () => resolve(response)));
        call.on('socket', (socket) => sockets.push(socket)).on('error', reject);
      });
    try {
      expect((await get()).headers['keep-alive']).toBe('timeout=65');
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      await get();
      expect(sockets).toHaveLength(2);
      expect(sockets[1]).toBe(sockets[0]);
    } finally {
      agent.destroy();
    }
  }, 15_000);
});

describe('text at the edge', () => {
  it('when a body field holds NUL or a lone surrogate, then 400 invalid_text naming the field and not echoing it', async () => {
    const nul = await sms({ tenant_id: 'ten\u0000ant', phone_number: '+15550500001', content: 'hello' }).expect(400);
    expect(nul.body).toMatchObject({ error: { code: 'invalid_text', details: [{ path: 'body.tenant_id' }] }, request_id: expect.any(String) });
    expect(nul.text).not.toContain('ten\\u0000ant');
    const surrogate = await request(harness.url).post('/orchestrate/escalate').set(manager()).send({ conversation_id: 'c', reason: 'cut \ud83d' }).expect(400);
    expect(surrogate.body.error).toMatchObject({ code: 'invalid_text', details: [{ path: 'body.reason', message: expect.stringContaining('lone surrogate') }] });
    const nested = await request(harness.url).post('/orchestrate/escalate').set(manager()).send({ conversation_id: 'c', reason: 'r', extra: { deep: ['\u0085'] } }).expect(400);
    expect(nested.body.error.details).toEqual([{ path: 'body.extra.deep.0', message: expect.stringContaining('U+0085') }]);
  });

  it('when a URL id, a query value or the Idempotency-Key holds a control character, then 400 invalid_text', async () => {
    const path = await request(harness.url).get('/v1/conversations/conv%00x').set(manager()).expect(400);
    expect(path.body.error).toMatchObject({ code: 'invalid_text', details: [{ path: 'url.segment.3' }] });
    const notUtf8 = await request(harness.url).post('/orchestrate/retry/%ED%A0%BD').set(manager()).expect(400);
    expect(notUtf8.body.error.code).toBe('invalid_text');
    const query = await request(harness.url).get('/v1/approvals?status=pending%00').set(manager()).expect(400);
    expect(query.body.error).toMatchObject({ code: 'invalid_text', details: [{ path: 'query.status' }] });
    const header = await request(harness.url).post('/orchestrate/escalate').set(manager()).set('Idempotency-Key', 'key\u0085').send({ conversation_id: 'c', reason: 'r' }).expect(400);
    expect(header.body.error).toMatchObject({ code: 'invalid_text', details: [{ path: 'header.idempotency-key' }] });
  });

  it('when an approvals cursor decodes to an id that is not text, then 400 and not a database error', async () => {
    for (const after of ['x\u0000', '\ud800', 'y'.repeat(300)]) {
      const cursor = Buffer.from(JSON.stringify({ after })).toString('base64url');
      const response = await request(harness.url).get(`/v1/approvals?cursor=${cursor}`).set(manager()).expect(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'cursor' }] });
    }
  });

  it('when a body key is __proto__ or the body nests too deep, then 400 and nothing breaks', async () => {
    const polluted = await request(harness.url)
      .post('/orchestrate/escalate')
      .set(manager())
      .set('Content-Type', 'application/json')
      .send('{"conversation_id":"c","reason":"r","__proto__":{"isAdmin":true}}')
      .expect(400);
    expect(polluted.body.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'body.__proto__' }] });
    const deep = `{"conversation_id":"c","reason":"r","x":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    const nested = await request(harness.url).post('/orchestrate/escalate').set(manager()).set('Content-Type', 'application/json').send(deep).expect(400);
    expect(nested.body.error.code).toBe('invalid_request');
  });

  it('when an inbound SMS holds NUL, GSM controls or half an emoji, then it is kept, read back as GSM and U+FFFD', async () => {
    await sms({ tenant_id: 'tenant-txt', phone_number: '+15550500002', content: 'mail ana\u0000x.com, I pay \u000250 \ud83d', conversation_id: 'conv-txt' }, 'txt-1').expect(202);
    const stored = await harness.orchestrator.db.selectFrom('messages').select('body').where('conversation_id', '=', 'conv-txt').executeTakeFirstOrThrow();
    expect(stored.body).toBe('mail ana@x.com, I pay $50 \ufffd');
  });
});

describe('phone numbers and conversation identity', () => {
  it('when the phone number is not one, then 400 invalid_phone_number and nothing is written', async () => {
    for (const phone of ['(((((', '-. .-', '1-800-FLOWERS', '+1 555 123 4567 ext 9']) {
      const response = await sms({ tenant_id: 'tenant-ph', phone_number: phone, content: 'hi' }).expect(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_phone_number', details: [{ path: 'phone_number', code: 'invalid_phone_number' }] });
    }
    const rows = await harness.orchestrator.db.selectFrom('conversations').select('id').where('tenant_id', '=', 'tenant-ph').execute();
    expect(rows).toEqual([]);
  });

  it('when one number comes typed three ways, then it is one debtor: one conversation, an HMAC id, the number stored in E.164', async () => {
    const ids = new Set<string>();
    for (const [index, phone] of ['+1 (555) 050-0003', '15550500003', '+15550500003'].entries()) {
      const response = await sms({ tenant_id: 'tenant-same', phone_number: phone, content: `message ${index}` }, `same-${index}`).expect(202);
      ids.add(response.body.conversation_id);
    }
    expect([...ids]).toEqual([derivedConversationId(SECRET, 'tenant-same', '+15550500003')]);
    const [id] = [...ids];
    expect(id).not.toMatch(/5550500003|0500003/);
    const row = await harness.orchestrator.db.selectFrom('conversations').select('phone').where('id', '=', id!).executeTakeFirstOrThrow();
    expect(row.phone).toBe('+15550500003');
    expect(await inboundCount(id!)).toBe(3);
    // An API-only process remembers nothing by default: workers write the rest of its conversations' events.
    expect(harness.orchestrator.runtime.remembers(id!)).toBe(false);
  });

  it('when a conversation was created under the old unkeyed id, then after the upgrade texts without an id keep going to it', async () => {
    // The unkeyed derivation of the first releases: sha256 of `tenant|number as typed`.
    const legacy = `conv-${createHash('sha256').update('tenant-old|+15550500004').digest('hex').slice(0, 24)}`;
    // Such a row, as the upgrade found it: created under that id (a caller-given id is used as is), then
    // adopted as the number's default conversation by the migration that introduced them.
    await sms({ tenant_id: 'tenant-old', phone_number: '+15550500004', content: 'first', conversation_id: legacy }, 'old-1').expect(202);
    expect(await adoptDefaultConversations(harness.orchestrator.db)).toBe(1);
    const next = await sms({ tenant_id: 'tenant-old', phone_number: '+1 555 050 0004', content: 'second' }, 'old-2').expect(202);
    expect(next.body.conversation_id).toBe(legacy);
  });

  it("when an SMS names another tenant's or another number's conversation, then 409 conversation_mismatch and nothing is written", async () => {
    await sms({ tenant_id: 'tenant-victim', phone_number: '+15550500005', content: 'mine', conversation_id: 'conv-victim' }, 'victim-1').expect(202);
    const before = await inboundCount('conv-victim');
    const otherTenant = await sms({ tenant_id: 'tenant-attacker', phone_number: '+15550500005', content: 'join', conversation_id: 'conv-victim' }, 'atk-1').expect(409);
    expect(otherTenant.body).toMatchObject({ error: { code: 'conversation_mismatch' }, request_id: expect.any(String) });
    expect(otherTenant.text).not.toContain('tenant-victim');
    await sms({ tenant_id: 'tenant-victim', phone_number: '+15550500099', content: 'join', conversation_id: 'conv-victim' }, 'atk-2').expect(409);
    const native = await request(harness.url)
      .post('/v1/conversations/conv-victim/events')
      .set(service())
      .set('Idempotency-Key', 'atk-3')
      .send({ type: 'sms.received', text: 'join', tenant_id: 'tenant-attacker', phone_number: '+15550500005' })
      .expect(409);
    expect(native.body.error.code).toBe('conversation_mismatch');
    expect(await inboundCount('conv-victim')).toBe(before);
    const keys = await harness.orchestrator.db.selectFrom('inbox').select('idempotency_key').where('idempotency_key', 'like', 'atk-%').execute();
    expect(keys).toEqual([]);
    // The same number typed another way is the same debtor, not a mismatch.
    await sms({ tenant_id: 'tenant-victim', phone_number: '(555) 050-0005', content: 'again', conversation_id: 'conv-victim' }, 'victim-2').expect(202);
  });
});

describe('bounds: tenant ids and money', () => {
  it('when a tenant id is not a safe path segment (".", "..", a slash, a question mark), then 400 invalid_tenant_id on every body that names one, and nothing is written', async () => {
    for (const tenantId of ['.', '..', 'a/b', '../other', 'a?b', 'a#b', 'a\\b']) {
      const phone = '+15550609001';
      const first = await sms({ tenant_id: tenantId, phone_number: phone, content: 'hello' });
      expect([first.status, first.body.error?.code]).toEqual([400, 'invalid_tenant_id']);
      expect(first.body.error.details).toEqual([expect.objectContaining({ path: 'tenant_id', code: 'invalid_tenant_id' })]);
      const event = await request(harness.url)
        .post('/v1/conversations/conv-bad-tenant/events')
        .set(service())
        .set('Idempotency-Key', `bad-tenant-${tenantId}`)
        .send({ type: 'sms.received', text: 'hello', tenant_id: tenantId, phone_number: phone });
      expect([event.status, event.body.error?.code]).toEqual([400, 'invalid_tenant_id']);
      const detected = await request(harness.url)
        .post('/orchestrate/payment-plan-detected')
        .set(service())
        .send({ conversation_id: 'conv-bad-tenant', tenant_id: tenantId, message_content: 'I can pay $50 a week' });
      expect([detected.status, detected.body.error?.code]).toEqual([400, 'invalid_tenant_id']);
    }
    const stored = await harness.orchestrator.db.selectFrom('conversations').select('id').where('phone', '=', '+15550609001').execute();
    expect(stored).toEqual([]);
    // Dots inside an id are fine.
    await sms({ tenant_id: 'tenant.v2..x', phone_number: '+15550609002', content: 'hello' }).expect(202);
  });

  it('when amount_cents is above the business maximum ($1,000,000.00), or past 2^53, then 400 amount_out_of_range and nothing is recorded; the maximum itself is taken', async () => {
    const created = await sms({ tenant_id: 'tenant-bounds', phone_number: '+15550609003', content: 'hello' }, 'bounds-m1').expect(202);
    const conversationId = created.body.conversation_id as string;
    for (const amount of [100_000_001, 2_100_000_000, Number.MAX_SAFE_INTEGER, 2 ** 53, 1e300]) {
      const response = await request(harness.url)
        .post(`/v1/conversations/${conversationId}/events`)
        .set(service())
        .set('Idempotency-Key', `too-much-${amount}`)
        .send({ type: 'payment.received', amount_cents: amount });
      expect([response.status, response.body.error?.code]).toEqual([400, 'amount_out_of_range']);
      expect(response.body.error.details).toEqual([expect.objectContaining({ path: 'amount_cents', code: 'amount_out_of_range' })]);
    }
    const status = await request(harness.url).get(`/v1/conversations/${conversationId}`).set(manager()).expect(200);
    expect(status.body.context.paid_cents).toBe(0);
    await request(harness.url)
      .post(`/v1/conversations/${conversationId}/events`)
      .set(service())
      .set('Idempotency-Key', 'the-maximum')
      .send({ type: 'payment.received', amount_cents: 100_000_000 })
      .expect(202);
  });
});
