import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestOrchestrator, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Opt-outs, suppressions and the first-text notice when two tenants share a phone number
 * (docs/compliance.md, "Whose opt-out"): a consumer's STOP binds the tenant that heard it, a manager's
 * cease-contact suppression is never lifted by the debtor's START, and a scoped token learns nothing about
 * another tenant's numbers.
 */

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator();
});
afterAll(() => harness.stop());

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const allTenants = () => bearer(harness.token('manager', 'mia'));
const textsTo = (e164: string) => harness.orchestrator.simulators!.sms.sent.filter((sms) => sms.to === e164).map((sms) => sms.body);

async function inbound(tenant: string, phone: string, content: string, messageId: string, conversationId?: string) {
  const response = await request(harness.url)
    .post('/orchestrate/sms-received')
    .set(bearer(harness.token('service', 'sms-agent', { tenants: [tenant] })))
    .send({ tenant_id: tenant, phone_number: phone, content, message_id: messageId, ...(conversationId ? { conversation_id: conversationId } : {}) })
    .expect(202);
  return response.body.conversation_id as string;
}

const optedOut = async (conversationId: string) =>
  (await request(harness.url).get(`/v1/conversations/${conversationId}`).set(allTenants()).expect(200)).body.compliance.opted_out as boolean;

const FULL_NOTICE = /attempting to collect a debt/;

describe('whose opt-out', () => {
  it("when a number opts out in tenant B, then tenant A still texts it, and START in tenant A leaves B's opt-out in place", async () => {
    const phone = '+15550911001';
    const b = await inbound('tenant-scope-b1', phone, 'STOP', 'scope-1');
    await waitForState(harness.orchestrator, b, ['optedOut']);
    await waitFor(() => textsTo(phone).length === 1, 10_000, 'the confirmation');

    const a = await inbound('tenant-scope-a1', phone, 'Hi, what is my balance?', 'scope-2');
    await waitForState(harness.orchestrator, a, ['awaitingReply']);
    expect(textsTo(phone)).toHaveLength(2);

    await inbound('tenant-scope-a1', phone, 'START', 'scope-3', a);
    expect(await optedOut(b)).toBe(true);
  });

  it("when a manager suppresses a number (cease all contact), then the debtor's START lifts nothing and no tenant texts it", async () => {
    const phone = '+15550911002';
    await request(harness.url).post('/v1/compliance/suppressions').set(allTenants()).send({ phone_number: phone, reason: 'cease all contact' }).expect(201);
    // The opt-in is honoured (or not) before the 202.
    const a = await inbound('tenant-scope-a2', phone, 'START', 'scope-4');
    expect(await optedOut(a)).toBe(true);
    const later = await inbound('tenant-scope-b2', phone, 'Hi, what is my balance?', 'scope-5');
    await waitForState(harness.orchestrator, later, ['failed', 'awaitingReply']);
    expect(textsTo(phone)).toEqual([]);
  });

  it("when a scoped manager suppresses a number another tenant's debtor opted out, then the answer is the same as for a fresh number", async () => {
    const phone = '+15550911003';
    const b = await inbound('tenant-scope-b3', phone, 'STOP', 'scope-6');
    await waitForState(harness.orchestrator, b, ['optedOut']);
    const scopedA = bearer(harness.token('manager', 'amy', { tenants: ['tenant-scope-a3'] }));
    const known = await request(harness.url).post('/v1/compliance/suppressions').set(scopedA).send({ phone_number: phone }).expect(201);
    const fresh = await request(harness.url).post('/v1/compliance/suppressions').set(scopedA).send({ phone_number: '+15550911004' }).expect(201);
    expect(known.body).toEqual({ ...fresh.body, phone_number: phone });
    // Nor does the list show tenant B's opt-out to tenant A's manager; it shows A's own suppressions, by tenant.
    const listed = await request(harness.url).get('/v1/compliance/suppressions').set(scopedA).expect(200);
    expect(listed.body.items.map((item: { phone_number: string; conversation_id: string | null }) => item.conversation_id)).not.toContain(b);
    expect(listed.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ phone_number: phone, tenant_id: 'tenant-scope-a3', source: 'manager', added_by: 'amy' })]));
    // A tenant outside the token's scope cannot be named.
    const refused = await request(harness.url).post('/v1/compliance/suppressions').set(scopedA).send({ phone_number: phone, tenant_id: 'tenant-scope-b3' }).expect(403);
    expect(refused.body.error.code).toBe('forbidden_tenant');
  });
});

describe('opt-outs stored before they had a tenant', () => {
  it('when an opt-out has no tenant, then it holds for every tenant, until START in the tenant whose conversation recorded it', async () => {
    const phone = '+15550911006';
    const heard = await inbound('tenant-scope-l', phone, 'Hi, what is my balance?', 'scope-9');
    await waitForState(harness.orchestrator, heard, ['awaitingReply']);
    await harness.testDb.db.insertInto('opt_outs').values({ tenant_id: null, phone, conversation_id: heard }).execute();

    const elsewhere = await inbound('tenant-scope-m', phone, 'Hi, what is my balance?', 'scope-10');
    await waitForState(harness.orchestrator, elsewhere, ['failed']);
    expect(textsTo(phone)).toHaveLength(1);
    await inbound('tenant-scope-m', phone, 'START', 'scope-11', elsewhere);
    expect(await optedOut(elsewhere)).toBe(true);
    await inbound('tenant-scope-l', phone, 'START', 'scope-12', heard);
    expect(await optedOut(elsewhere)).toBe(false);
  });
});

describe('the first-text notice', () => {
  it("when tenant Y texted a number a moment ago, then tenant X's first text to it still carries the full notice", async () => {
    const phone = '+15550911005';
    const y = await inbound('tenant-scope-y', phone, 'Hi, what is my balance?', 'scope-7');
    await waitForState(harness.orchestrator, y, ['awaitingReply']);
    const x = await inbound('tenant-scope-x', phone, 'Hi, what is my balance?', 'scope-8');
    await waitForState(harness.orchestrator, x, ['awaitingReply']);
    const texts = textsTo(phone);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(FULL_NOTICE);
    expect(texts[1]).toMatch(FULL_NOTICE);
  });
});
