import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { signToken } from '../../src/http/auth.js';
import { ROUTES, type RouteName, type RouteSpec } from '../../src/http/routes.js';
import { newSigningKey, signWith, startJwksServer, type JwksServer, type SigningKey } from '../helpers/jwks.js';
import { startTestOrchestrator, TEST_JWT_SECRET, waitFor, waitForState, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Every route of the route table × every kind of token, one table: status and error code of each cell.
 * The service runs as in production with Supabase: RS256/ES256 tokens from a JWKS beside HS256, iss and
 * aud checked, an ORG_ID. Tenant A's conversations are seeded (a decided and a pending approval, an open
 * escalation, an agreed plan, an opt-out, a closed conversation); tenant B has one.
 *
 * Authorised cells ask for something that answers without writing (a decided approval, an event a closed
 * conversation refuses), so the cells can run in any order and each answers the same every time.
 */

const ISSUER = 'https://matrix.supabase.co/auth/v1';
const AUDIENCE = 'authenticated';
const ORG = 'matrix-agency';
const TENANT_A = 'tenant-matrix-a';
const TENANT_B = 'tenant-matrix-b';

const TOKEN_KINDS = [
  'none',
  'expired',
  'noExp',
  'wrongSignature',
  'wrongAudience',
  'wrongIssuer',
  'wrongRole',
  'managerWithoutScope',
  'otherOrg',
  'service',
  'serviceOtherTenant',
  'managerInScope',
  'managerOrg',
  'managerOtherTenant',
] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];

/** What a token of each kind is: its role (when it gets that far) and whether tenant A is in its scope. */
const ROLE_KINDS: Partial<Record<TokenKind, { role: 'service' | 'manager'; seesTenantA: boolean }>> = {
  service: { role: 'service', seesTenantA: true },
  serviceOtherTenant: { role: 'service', seesTenantA: false },
  managerInScope: { role: 'manager', seesTenantA: true },
  managerOrg: { role: 'manager', seesTenantA: true },
  managerOtherTenant: { role: 'manager', seesTenantA: false },
};
/** Refused whatever the route: 401 for a token we cannot trust, 403 for a trusted one that grants nothing. */
const REFUSED: Partial<Record<TokenKind, { status: number; code: string }>> = {
  none: { status: 401, code: 'unauthorized' },
  expired: { status: 401, code: 'unauthorized' },
  noExp: { status: 401, code: 'unauthorized' },
  wrongSignature: { status: 401, code: 'unauthorized' },
  wrongAudience: { status: 401, code: 'unauthorized' },
  wrongIssuer: { status: 401, code: 'unauthorized' },
  wrongRole: { status: 403, code: 'forbidden_role' },
  managerWithoutScope: { status: 403, code: 'forbidden_scope' },
  otherOrg: { status: 403, code: 'forbidden_scope' },
};

interface Expected {
  status: number;
  code?: string;
  /** More to check of a 2xx answer. */
  check?: (body: any) => void;
}
interface Fixture {
  decidedApprovalId: string;
  /** In tenant A: has transitions, a withdrawn (decided) approval and an open escalation. */
  active: string;
  /** In tenant A: closed, so every event to it is refused without a write. */
  closed: string;
}
interface RouteCase {
  request: (fixture: Fixture, kind: TokenKind) => { path: string; body?: object; headers?: Record<string, string> };
  /** The answer to a token of an allowed role that sees tenant A; `outOfScope` to one that does not. */
  inScope: Expected;
  outOfScope: Expected;
}

const tenantsOf = (items: Array<{ tenant_id: string }>) => [...new Set(items.map((item) => item.tenant_id))];
/** A list that a token scoped to B must show without A's items, and one that sees A must show them. */
const listOf = (key: string, seesA: boolean, tenantOf: (item: any) => string = (item) => item.tenant_id): Expected => ({
  status: 200,
  check: (body) => {
    const tenants = new Set((body[key] as any[]).map(tenantOf));
    expect(tenants.has(TENANT_A)).toBe(seesA);
  },
});
const same = (expected: Expected) => ({ inScope: expected, outOfScope: expected });
const key = (kind: TokenKind) => ({ 'Idempotency-Key': `matrix-${kind}` });

/** One entry per route of the table: a new route fails to compile here until it is given its cells. */
const CASES: Record<RouteName, RouteCase> = {
  health: { request: () => ({ path: '/health' }), ...same({ status: 200 }) },
  healthLive: { request: () => ({ path: '/health/live' }), ...same({ status: 200 }) },
  healthReady: { request: () => ({ path: '/health/ready' }), ...same({ status: 200 }) },
  healthDependencies: { request: () => ({ path: '/health/dependencies' }), ...same({ status: 200 }) },
  prometheus: { request: () => ({ path: '/metrics' }), ...same({ status: 200 }) },
  openapi: { request: () => ({ path: '/openapi.json' }), ...same({ status: 200 }) },
  docs: { request: () => ({ path: '/docs/' }), ...same({ status: 200 }) },
  machine: { request: () => ({ path: '/v1/machine' }), ...same({ status: 200 }) },
  conversationEvents: {
    request: (f, kind) => ({ path: `/v1/conversations/${f.closed}/events`, body: { type: 'staff.escalate', reason: 'matrix' }, headers: key(kind) }),
    inScope: { status: 409, code: 'event_not_allowed' },
    outOfScope: { status: 404, code: 'not_found' },
  },
  conversation: {
    request: (f) => ({ path: `/v1/conversations/${f.active}` }),
    inScope: { status: 200, check: (body) => expect(body.tenant_id).toBe(TENANT_A) },
    outOfScope: { status: 404, code: 'not_found' },
  },
  transitions: {
    request: (f) => ({ path: `/v1/conversations/${f.active}/transitions` }),
    inScope: { status: 200, check: (body) => expect(body.transitions.length).toBeGreaterThan(0) },
    outOfScope: { status: 404, code: 'not_found' },
  },
  approvals: { request: () => ({ path: '/v1/approvals' }), inScope: listOf('items', true), outOfScope: listOf('items', false) },
  plans: { request: () => ({ path: '/v1/plans' }), inScope: listOf('items', true), outOfScope: listOf('items', false) },
  escalations: { request: () => ({ path: '/v1/escalations' }), inScope: listOf('items', true), outOfScope: listOf('items', false) },
  suppressions: {
    request: () => ({ path: '/v1/compliance/suppressions' }),
    // Opt-outs carry the conversation, not the tenant: A's is the one recorded by conv-matrix-a-stop.
    inScope: listOf('items', true, (item) => (item.conversation_id === 'conv-matrix-a-stop' ? TENANT_A : 'other')),
    outOfScope: listOf('items', false, (item) => (item.conversation_id === 'conv-matrix-a-stop' ? TENANT_A : 'other')),
  },
  // Any manager may suppress a number: not texting someone is always allowed. One number per kind, so each is new.
  addSuppression: {
    request: (_f, kind) => ({ path: '/v1/compliance/suppressions', body: { phone_number: `+1555077${String(TOKEN_KINDS.indexOf(kind)).padStart(4, '0')}` } }),
    ...same({ status: 201, check: (body) => expect(body.created).toBe(true) }),
  },
  smsReceived: {
    // A retried message of a closed conversation: recorded, and the same answer every time.
    request: (f) => ({ path: '/orchestrate/sms-received', body: { tenant_id: TENANT_A, phone_number: '+15550700003', conversation_id: f.closed, content: 'hi', message_id: 'matrix-sms' } }),
    inScope: { status: 202 },
    outOfScope: { status: 403, code: 'forbidden_tenant' },
  },
  approveResponse: {
    request: (f) => ({ path: '/orchestrate/approve-response', body: { response_queue_id: f.decidedApprovalId, action: 'approve' } }),
    inScope: { status: 409, code: 'already_decided' },
    outOfScope: { status: 404, code: 'not_found' },
  },
  escalate: {
    request: (f) => ({ path: '/orchestrate/escalate', body: { conversation_id: f.closed, reason: 'matrix' } }),
    inScope: { status: 409, code: 'event_not_allowed' },
    outOfScope: { status: 404, code: 'not_found' },
  },
  paymentPlanDetected: {
    request: (f) => ({ path: '/orchestrate/payment-plan-detected', body: { conversation_id: f.active, tenant_id: TENANT_A, message_content: 'hello there' } }),
    inScope: { status: 200, check: (body) => expect(body.detected).toBe(false) },
    outOfScope: { status: 403, code: 'forbidden_tenant' },
  },
  retry: {
    request: (f) => ({ path: `/orchestrate/retry/${f.closed}` }),
    inScope: { status: 409, code: 'event_not_allowed' },
    outOfScope: { status: 404, code: 'not_found' },
  },
  workflowStatus: {
    request: (f) => ({ path: `/orchestrate/workflow/${f.active}/status` }),
    inScope: { status: 200, check: (body) => expect(body.tenant_id).toBe(TENANT_A) },
    outOfScope: { status: 404, code: 'not_found' },
  },
  orchestrateMetrics: {
    request: () => ({ path: '/orchestrate/metrics' }),
    // Counts of the token's tenants: B has one conversation, A has five.
    inScope: { status: 200, check: (body) => expect(sum(body.conversations_by_state)).toBeGreaterThanOrEqual(5) },
    outOfScope: { status: 200, check: (body) => expect(sum(body.conversations_by_state)).toBe(1) },
  },
  conversations: { request: () => ({ path: '/v1/conversations?counts=true' }), inScope: listOf('items', true), outOfScope: listOf('items', false) },
  timeline: {
    request: (f) => ({ path: `/v1/conversations/${f.active}/timeline` }),
    inScope: { status: 200, check: (body) => expect(body.entries.length).toBeGreaterThan(0) },
    outOfScope: { status: 404, code: 'not_found' },
  },
  complianceCheck: {
    request: (f) => ({ path: `/v1/conversations/${f.active}/compliance-check`, body: { text: 'hello' } }),
    inScope: { status: 200, check: (body) => expect(body.allowed).toBe(false) },
    outOfScope: { status: 404, code: 'not_found' },
  },
  revealPhone: {
    request: (f) => ({ path: `/v1/conversations/${f.active}/phone-reveal` }),
    inScope: { status: 200, check: (body) => expect(body.phone_number).toBe('+15550700001') },
    outOfScope: { status: 404, code: 'not_found' },
  },
  console: { request: () => ({ path: '/console/' }), ...same({ status: 200 }) },
  // The development sign-in exists only with the development JWT secret: this service has its own.
  consoleDevToken: { request: () => ({ path: '/console/dev-token' }), ...same({ status: 404, code: 'route_not_found' }) },
};
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
let fixture: Fixture;

function expectationFor(spec: RouteSpec, routeCase: RouteCase, kind: TokenKind): Expected {
  if (spec.auth === 'none') return routeCase.inScope;
  const refused = REFUSED[kind];
  if (refused) return refused;
  const { role, seesTenantA } = ROLE_KINDS[kind]!;
  if (!spec.auth.includes(role)) return { status: 403, code: 'forbidden_role' };
  return seesTenantA ? routeCase.inScope : routeCase.outOfScope;
}

let harness: TestOrchestrator;
let jwks: JwksServer;
let rsa: SigningKey;
let ec: SigningKey;
const tokens = {} as Record<TokenKind, string | null>;

beforeAll(async () => {
  rsa = await newSigningKey('RS256', 'matrix-rsa');
  ec = await newSigningKey('ES256', 'matrix-ec');
  jwks = await startJwksServer([rsa, ec]);
  harness = await startTestOrchestrator({ JWT_JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, ORG_ID: ORG });
  const issued = { issuer: ISSUER, audience: AUDIENCE };
  const stranger = await newSigningKey('RS256', rsa.kid);
  Object.assign(tokens, {
    none: null,
    expired: signToken(TEST_JWT_SECRET, 'manager', 'late', '-1s', { ...issued, org: ORG }),
    noExp: jwt.sign({ role: 'manager', org: ORG }, TEST_JWT_SECRET, { subject: 'forever', algorithm: 'HS256', ...issued }),
    wrongSignature: await signWith(stranger, { sub: 'mallory', role: 'manager', org: ORG }, issued),
    wrongAudience: await signWith(rsa, { sub: 'm', role: 'manager', org: ORG }, { issuer: ISSUER, audience: 'anon' }),
    wrongIssuer: signToken(TEST_JWT_SECRET, 'manager', 'm', '1h', { issuer: 'https://other.supabase.co/auth/v1', audience: AUDIENCE, org: ORG }),
    // Supabase's own role, no app role in app_metadata.
    wrongRole: await signWith(ec, { sub: 'user-uuid', role: 'authenticated', app_metadata: { provider: 'email', tenants: [TENANT_A] } }, issued),
    managerWithoutScope: signToken(TEST_JWT_SECRET, 'manager', 'm', '1h', issued),
    otherOrg: signToken(TEST_JWT_SECRET, 'manager', 'm', '1h', { ...issued, org: 'another-agency' }),
    service: await signWith(rsa, { sub: 'sms-agent', role: 'service' }, issued),
    serviceOtherTenant: signToken(TEST_JWT_SECRET, 'service', 'sms-agent-b', '1h', { ...issued, tenants: [TENANT_B] }),
    managerInScope: await signWith(ec, { sub: 'alice', role: 'authenticated', app_metadata: { role: 'manager', tenants: [TENANT_A] } }, issued),
    managerOrg: signToken(TEST_JWT_SECRET, 'manager', 'head-of-collections', '1h', { ...issued, org: ORG }),
    managerOtherTenant: await signWith(rsa, { sub: 'bob', role: 'manager', tenants: [TENANT_B] }, issued),
  } satisfies Record<TokenKind, string | null>);
  fixture = await seed();
}, 60_000);
afterAll(async () => {
  await harness?.stop();
  await jwks?.close();
});

/** Tenant A: an escalation that withdrew a queued draft, a pending draft, an agreed plan, a STOP, a closed conversation. Tenant B: one. */
async function seed(): Promise<Fixture> {
  const as = (kind: TokenKind) => ({ Authorization: `Bearer ${tokens[kind]}` });
  const sms = (tenant: string, conversation: string, phone: string, content: string, id: string) =>
    request(harness.url)
      .post('/orchestrate/sms-received')
      .set(as('service'))
      .send({ tenant_id: tenant, phone_number: phone, content, conversation_id: conversation, message_id: id })
      .expect(202);
  const settle = (conversation: string, states: string[]) => waitForState(harness.orchestrator, conversation, states);
  harness.orchestrator.simulators!.monitor.setTenant(TENANT_A, { amount_owed: '400.00', failed_payment_plans: 0, time_zone: 'America/Chicago' });

  const hardship = 'I lost my job, can I pay $50 a week for 8 weeks?';
  await sms(TENANT_A, 'conv-matrix-a-active', '+15550700001', hardship, 'a1-1');
  await sms(TENANT_A, 'conv-matrix-a-pending', '+15550700002', hardship, 'a2-1');
  await sms(TENANT_A, 'conv-matrix-a-closed', '+15550700003', 'hello', 'a3-1');
  await sms(TENANT_A, 'conv-matrix-a-plan', '+15550700004', 'I can pay $100 a week starting Friday', 'a4-1');
  await sms(TENANT_A, 'conv-matrix-a-stop', '+15550700005', 'STOP', 'a5-1');
  await sms(TENANT_B, 'conv-matrix-b', '+15550700006', 'hello', 'b1-1');

  await settle('conv-matrix-a-active', ['pendingApproval']);
  await settle('conv-matrix-a-pending', ['pendingApproval']);
  const pending = await request(harness.url).get('/v1/approvals').set(as('managerOrg')).expect(200);
  const decidedApprovalId = pending.body.items.find((item: { conversation_id: string }) => item.conversation_id === 'conv-matrix-a-active').response_queue_id;
  // Escalating withdraws the queued draft: the approval is decided, and the escalation stays open.
  await request(harness.url).post('/orchestrate/escalate').set(as('managerOrg')).send({ conversation_id: 'conv-matrix-a-active', reason: 'seed' }).expect(202);

  await settle('conv-matrix-a-closed', ['awaitingReply']);
  await request(harness.url)
    .post('/v1/conversations/conv-matrix-a-closed/events')
    .set(as('managerOrg'))
    .set('Idempotency-Key', 'close')
    .send({ type: 'staff.close', reason: 'seed' })
    .expect(202);

  await settle('conv-matrix-a-plan', ['negotiating.awaitingConfirmation']);
  await sms(TENANT_A, 'conv-matrix-a-plan', '+15550700004', 'yes', 'a4-2');
  await settle('conv-matrix-a-plan', ['planAgreed']);
  await settle('conv-matrix-a-stop', ['optedOut']);
  await waitFor(async () => (await harness.orchestrator.db.selectFrom('opt_outs').select('phone').where('conversation_id', '=', 'conv-matrix-a-stop').executeTakeFirst()) !== undefined);
  return { decidedApprovalId, active: 'conv-matrix-a-active', closed: 'conv-matrix-a-closed' };
}

const routeNames = Object.keys(ROUTES) as RouteName[];

describe('auth matrix: every route × every kind of token', () => {
  it('covers every route of the route table, and nothing else', () => {
    expect(Object.keys(CASES).sort()).toEqual([...routeNames].sort());
  });

  it.each(routeNames)('%s', async (name) => {
    const spec: RouteSpec = ROUTES[name];
    const routeCase = CASES[name];
    const cells: string[] = [];
    for (const kind of TOKEN_KINDS) {
      const { path, body, headers } = routeCase.request(fixture, kind);
      const expected = expectationFor(spec, routeCase, kind);
      let call = spec.method === 'get' ? request(harness.url).get(path) : request(harness.url).post(path);
      if (tokens[kind] !== null) call = call.set('Authorization', `Bearer ${tokens[kind]}`);
      for (const [header, value] of Object.entries(headers ?? {})) call = call.set(header, value);
      const response = spec.method === 'post' ? await call.send(body ?? {}) : await call;
      const actual = { kind, status: response.status, code: response.body?.error?.code };
      expect(actual).toEqual({ kind, status: expected.status, code: expected.code });
      if (response.status === 401) expect(response.headers['www-authenticate']).toBe('Bearer');
      expected.check?.(response.body);
      cells.push(kind);
    }
    expect(cells).toHaveLength(TOKEN_KINDS.length);
  });

  it('lists of a token scoped to B show B only, and an all-tenant token shows both', async () => {
    const as = (kind: TokenKind) => ({ Authorization: `Bearer ${tokens[kind]}` });
    const approvals = await request(harness.url).get('/v1/approvals').set(as('managerOrg')).expect(200);
    expect(tenantsOf(approvals.body.items)).toEqual([TENANT_A]);
    const metrics = await request(harness.url).get('/orchestrate/metrics').set(as('managerOrg')).expect(200);
    expect(sum(metrics.body.conversations_by_state)).toBe(6);
  });

  it("when a service scoped to B names A's conversation with B's tenant, then 404 (the id is not confirmed) and nothing is written; unscoped, the old 409", async () => {
    const messages = () =>
      harness.orchestrator.db.selectFrom('messages').select('id').where('conversation_id', '=', 'conv-matrix-a-active').execute();
    const before = (await messages()).length;
    const body = { tenant_id: TENANT_B, phone_number: '+15550700009', content: 'hi', conversation_id: 'conv-matrix-a-active', message_id: 'cross-1' };
    const scoped = await request(harness.url).post('/orchestrate/sms-received').set('Authorization', `Bearer ${tokens.serviceOtherTenant}`).send(body);
    expect({ status: scoped.status, code: scoped.body.error.code }).toEqual({ status: 404, code: 'not_found' });
    const unscoped = await request(harness.url).post('/orchestrate/sms-received').set('Authorization', `Bearer ${tokens.service}`).send(body);
    expect({ status: unscoped.status, code: unscoped.body.error.code }).toEqual({ status: 409, code: 'conversation_mismatch' });
    expect((await messages()).length).toBe(before);
  });

  it("when a manager scoped to B decides A's draft by conversation and phone, then 404 and the draft stays pending", async () => {
    const response = await request(harness.url)
      .post('/orchestrate/approve-response')
      .set('Authorization', `Bearer ${tokens.managerOtherTenant}`)
      .send({ conversation_id: 'conv-matrix-a-pending', phone_number: '+15550700002', action: 'approve' });
    expect({ status: response.status, code: response.body.error.code }).toEqual({ status: 404, code: 'not_found' });
    const draft = await harness.orchestrator.db.selectFrom('drafts').select('review_status').where('conversation_id', '=', 'conv-matrix-a-pending').executeTakeFirstOrThrow();
    expect(draft.review_status).toBe('pending');
  });
});
