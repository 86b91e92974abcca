import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { DEV_JWT_SECRET, loadConfig } from '../../src/config.js';
import { signToken } from '../../src/http/auth.js';
import { pendingApproval } from '../helpers/approvals.js';
import { startTestOrchestrator, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * The API the managers' console works through (docs/api.md): the list of conversations (filters, keyset
 * pages, counts, scopes), a conversation's timeline, the compliance verdict on a text being written, the
 * recorded phone reveal, and the development-only sign-in.
 */

let harness: TestOrchestrator;
const T0 = Date.parse('2026-11-01T12:00:00Z');

/** Stored conversations in chosen states and times (the list reads only the row), for filters and paging. */
async function storeRows(rows: Array<{ id: string; tenant: string; state: string; minutes: number }>) {
  await harness.orchestrator.db
    .insertInto('conversations')
    .values(
      rows.map((row, index) => ({
        id: row.id,
        tenant_id: row.tenant,
        phone: `+1555030${String(index).padStart(4, '0')}`,
        state: row.state,
        snapshot: JSON.stringify({ value: row.state, status: 'active', context: {} }),
        live_effects: JSON.stringify({ invokes: {}, timers: {} }),
        machine_version: 'list-test',
        version: 1,
        updated_at: new Date(T0 + row.minutes * 60_000),
      })),
    )
    .execute();
}

const STATES = ['awaitingReply', 'escalated', 'pendingApproval', 'planAgreed', 'negotiating.awaitingConfirmation', 'negotiating.missedPayment'];

beforeAll(async () => {
  // The development secret: the console's development sign-in is on (NODE_ENV is test, not production).
  harness = await startTestOrchestrator({ JWT_SECRET: DEV_JWT_SECRET });
  // 120 rows of tenant-list-a (many sharing an instant: the keyset's tie-break on id), 12 of Tenant-List-B_x.
  await storeRows([
    ...Array.from({ length: 120 }, (_, i) => ({ id: `conv-list-a-${String(i).padStart(3, '0')}`, tenant: 'tenant-list-a', state: STATES[i % STATES.length]!, minutes: Math.floor(i / 7) })),
    ...Array.from({ length: 12 }, (_, i) => ({ id: `conv-list-b-${String(i).padStart(3, '0')}`, tenant: 'Tenant-List-B_x', state: STATES[i % 2]!, minutes: 100 + i })),
  ]);
});
afterAll(() => harness?.stop());

const token = (subject = 'alice', options?: { tenants?: string[] }) =>
  signToken(DEV_JWT_SECRET, 'manager', subject, '1h', options?.tenants ? { tenants: options.tenants } : { org: harness.orchestrator.config.auth.orgId });
const manager = (subject?: string, options?: { tenants?: string[] }) => ({ Authorization: `Bearer ${token(subject, options)}` });
const service = () => ({ Authorization: `Bearer ${signToken(DEV_JWT_SECRET, 'service', 'sms-agent', '1h')}` });
const list = (query: string, headers = manager()) => request(harness.url).get(`/v1/conversations?${query}`).set(headers);
const ids = (body: { items: Array<{ conversation_id: string }> }) => body.items.map((item) => item.conversation_id);

describe('GET /v1/conversations', () => {
  it('walks every conversation once, newest change first, in keyset pages (ties broken by id)', async () => {
    const seen: Array<{ conversation_id: string; updated_at: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await list(`q=list-a&limit=50${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      seen.push(...res.body.items);
      cursor = res.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(120);
    expect(new Set(seen.map((row) => row.conversation_id)).size).toBe(120);
    const order = [...seen].sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.conversation_id.localeCompare(a.conversation_id));
    expect(seen.map((row) => row.conversation_id)).toEqual(order.map((row) => row.conversation_id));
  });

  it('filters by top state, full path, tenant, part of a tenant id (any case, % and _ literal), updated_since and flags', async () => {
    const byTop = (await list('state=negotiating&limit=200').expect(200)).body.items as Array<{ state: string; top_state: string }>;
    expect(byTop.length).toBe(40);
    expect(new Set(byTop.map((row) => row.state))).toEqual(new Set(['negotiating.awaitingConfirmation', 'negotiating.missedPayment']));
    expect(byTop.every((row) => row.top_state === 'negotiating')).toBe(true);

    const byPath = (await list('state=negotiating.missedPayment&limit=200').expect(200)).body.items;
    expect(byPath).toHaveLength(20);

    expect(ids((await list('tenant_id=Tenant-List-B_x&limit=200').expect(200)).body)).toHaveLength(12);
    expect(ids((await list('q=list-b_X&limit=200').expect(200)).body)).toHaveLength(12);
    // `_` is a letter here, not "any character": "list_a" matches nothing.
    expect(ids((await list('q=list_a').expect(200)).body)).toHaveLength(0);

    const since = new Date(T0 + 100 * 60_000 + 6 * 60_000).toISOString();
    expect(ids((await list(`updated_since=${encodeURIComponent(since)}&limit=200`).expect(200)).body).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `conv-list-b-${String(i + 6).padStart(3, '0')}`),
    );

    const states = async (flag: string) => new Set(((await list(`${flag}=true&limit=200`).expect(200)).body.items as Array<{ state: string }>).map((row) => row.state));
    expect(await states('escalated')).toEqual(new Set(['escalated']));
    expect(await states('awaiting_approval')).toEqual(new Set(['pendingApproval']));
    expect(await states('in_plan')).toEqual(new Set(['planAgreed', 'negotiating.missedPayment']));
  });

  it('counts by state under every filter but the state, only when asked', async () => {
    expect((await list('q=list-a').expect(200)).body.counts).toBeUndefined();
    const res = await list('q=list-a&state=escalated&counts=true').expect(200);
    expect(res.body.counts).toEqual(Object.fromEntries(STATES.map((state) => [state, 20])));
    expect(res.body.items.every((row: { state: string }) => row.state === 'escalated')).toBe(true);
  });

  it("shows a scoped manager their tenants' conversations only, counts included, and never a whole number", async () => {
    const res = await list('limit=200&counts=true', manager('bob', { tenants: ['Tenant-List-B_x'] })).expect(200);
    expect(new Set(res.body.items.map((row: { tenant_id: string }) => row.tenant_id))).toEqual(new Set(['Tenant-List-B_x']));
    expect(Object.values(res.body.counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(12);
    expect(JSON.stringify(res.body)).not.toMatch(/\+1555030\d{4}/);
    expect(res.body.items[0].phone_masked).toMatch(/^\*\*\*\d{4}$/);
    // Naming another tenant shows nothing of it.
    expect((await list('tenant_id=tenant-list-a', manager('bob', { tenants: ['Tenant-List-B_x'] })).expect(200)).body.items).toEqual([]);
  });

  it.each([
    ['state=awaiting;drop', 'invalid_request'],
    ['updated_since=yesterday', 'invalid_request'],
    ['escalated=maybe', 'invalid_request'],
    ['limit=0', 'invalid_request'],
    [`cursor=${Buffer.from(JSON.stringify({ updated_at: 'x' })).toString('base64url')}`, 'invalid_request'],
    ['cursor=not-ours', 'invalid_request'],
    [`cursor=${Buffer.from(JSON.stringify({ updated_at: 'x', id: 'conv-1' })).toString('base64url')}`, 'invalid_request'],
    ['tenant_id=..', 'invalid_tenant_id'],
  ])('refuses %s with 400 %s', async (query, code) => {
    expect((await list(query).expect(400)).body.error.code).toBe(code);
  });

  it('is for managers: a service token is refused', async () => {
    expect((await list('', service()).expect(403)).body.error.code).toBe('forbidden_role');
  });
});

describe('a conversation the console opens', () => {
  let conversationId: string;
  beforeAll(async () => {
    conversationId = 'conv-list-live';
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set(service())
      .send({ tenant_id: 'tenant-live', phone_number: '+15550319999', content: 'I lost my job last month', conversation_id: conversationId, message_id: 'live-1' })
      .expect(202);
    await waitForState(harness.orchestrator, conversationId, ['pendingApproval']);
  });

  it("judges a manager's text as a decision would (same rule, segments), and writes nothing", async () => {
    const threat = 'Acme Recovery: pay now or we will sue you. This is a debt collector. Reply STOP to opt out.';
    const before = await harness.orchestrator.db.selectFrom('inbox').select('idempotency_key').where('conversation_id', '=', conversationId).execute();
    const verdict = await request(harness.url).post(`/v1/conversations/${conversationId}/compliance-check`).set(manager()).send({ text: threat }).expect(200);
    expect(verdict.body).toMatchObject({ allowed: false, rule: 'banned_phrase', segments: 1, encoding: 'gsm7', max_segments: 4, language: 'en' });

    const item = await pendingApproval(harness.url, manager(), conversationId);
    const decision = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set(manager())
      .send({ response_queue_id: item!.response_queue_id, action: 'modify', modified_text: threat })
      .expect(422);
    expect(decision.body.error.details.violations).toEqual(verdict.body.violations);
    const after = await harness.orchestrator.db.selectFrom('inbox').select('idempotency_key').where('conversation_id', '=', conversationId).execute();
    expect(after).toEqual(before);

    const draft = await request(harness.url).post(`/v1/conversations/${conversationId}/compliance-check`).set(manager()).send({ text: item!.draft.text }).expect(200);
    expect(draft.body).toMatchObject({ allowed: true, rule: null, violations: [] });
    const long = await request(harness.url).post(`/v1/conversations/${conversationId}/compliance-check`).set(manager()).send({ text: 'á'.repeat(300) }).expect(200);
    expect(long.body).toMatchObject({ allowed: false, segments: 5, encoding: 'ucs2' });
    expect(long.body.violations.map((v: { code: string }) => v.code)).toContain('too_long');
  });

  it('answers 404 for a conversation outside the scope, as for one that does not exist', async () => {
    const outside = manager('bob', { tenants: ['Tenant-List-B_x'] });
    for (const path of ['compliance-check', 'phone-reveal']) {
      const res = await request(harness.url).post(`/v1/conversations/${conversationId}/${path}`).set(outside).send({ text: 'x' }).expect(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await request(harness.url).get(`/v1/conversations/${conversationId}/timeline`).set(outside).expect(404)).body.error.code).toBe('not_found');
  });

  it('shows the timeline oldest first: the message, the draft, the transitions', async () => {
    const res = await request(harness.url).get(`/v1/conversations/${conversationId}/timeline`).set(manager()).expect(200);
    const entries = res.body.entries as Array<{ kind: string; at: string; text?: string; to_state?: string }>;
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort());
    expect(entries.filter((e) => e.kind === 'message').map((e) => e.text)).toEqual(['I lost my job last month']);
    expect(entries.some((e) => e.kind === 'draft')).toBe(true);
    expect(entries.filter((e) => e.kind === 'transition').map((e) => e.to_state)).toEqual(expect.arrayContaining(['idle', 'drafting', 'pendingApproval']));
  });

  it('reveals the number only on request, and records who and when', async () => {
    const res = await request(harness.url).post(`/v1/conversations/${conversationId}/phone-reveal`).set(manager('carol')).expect(200);
    expect(res.body).toMatchObject({ conversation_id: conversationId, phone_number: '+15550319999', revealed_by: 'manager:carol' });
    const rows = await harness.orchestrator.db.selectFrom('phone_reveals').selectAll().where('conversation_id', '=', conversationId).execute();
    expect(rows.map((row) => row.actor)).toEqual(['manager:carol']);
    expect(new Date(res.body.revealed_at).getTime()).toBe(rows[0]!.at.getTime());
  });
});

describe('development sign-in', () => {
  it('mints a manager token of every tenant when the service runs with the development secret outside production', async () => {
    const res = await request(harness.url).post('/console/dev-token').expect(200);
    expect(res.body.subject).toBe('dev-manager');
    await request(harness.url).get('/v1/approvals').set('Authorization', `Bearer ${res.body.token}`).expect(200);
  });

  it('is off with any other secret, and in production even with the development one', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db.example/app',
      OUTBOUND_JWT_SECRET: 'o'.repeat(40),
      CONVERSATION_ID_SECRET: 'c'.repeat(40),
      COLLECTIONS_MONITOR_URL: 'http://monitor.example',
      SMS_AGENT_URL: 'http://sms.example',
      NOTIFICATION_SERVICE_URL: 'http://notify.example',
      AGENCY_NAME: 'Acme Recovery',
    };
    expect(loadConfig({ NODE_ENV: 'development' }).consoleDevSignIn).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', JWT_SECRET: 's'.repeat(40) }).consoleDevSignIn).toBe(false);
    expect(loadConfig({ ...production, JWT_SECRET: DEV_JWT_SECRET }).consoleDevSignIn).toBe(false);
  });
});
