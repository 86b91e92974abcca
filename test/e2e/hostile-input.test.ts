import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { sql } from 'kysely';
import request from 'supertest';
import type { Role } from '../../src/http/auth.js';
import { normalisePhone } from '../../src/text/phone.js';
import { findUnsafeCharacter } from '../../src/text/text.js';
import { startTestOrchestrator, type TestOrchestrator } from '../helpers/orchestrator.js';

/**
 * Property-based fuzzing of every endpoint with hostile requests that carry a valid token for the right
 * role, so they reach validation. Every generated request has at least one part that must be refused
 * (a wrong type, a missing or oversized field, a control character, a prototype key, a deep nest, a
 * garbage phone number, a bad path id, query or header, or a body that is not JSON), plus optional noise.
 * Each must get a 4xx in the error shape with the request id, never a 5xx, and the database — every
 * table of the public and graphile_worker schemas — must be the same byte for byte afterwards.
 * The worker is off, so nothing but the requests could touch the database.
 */

const NUM_RUNS = 2_000;

let harness: TestOrchestrator;
beforeAll(async () => {
  harness = await startTestOrchestrator({}, { worker: false });
});
afterAll(() => harness.stop());

const CONVERSATION = 'conv-fuzz-1';
const DRAFT = 'draft-fuzz-1';
const TENANT = 'tenant-fuzz';
const PHONE = '+15550600001';

type FieldType = 'string' | 'number' | 'boolean';
interface Field {
  name: string;
  type: FieldType;
  required: boolean;
  /** Longest accepted string. */
  max?: number;
  /** An inbound SMS text: control characters are normalised there, not refused, so they are only noise. */
  sms?: boolean;
  phone?: boolean;
}
interface Endpoint {
  name: string;
  method: 'get' | 'post';
  role: Role;
  /** The path, given the conversation or workflow id when it has one. */
  path: (id: string) => string;
  hasId: boolean;
  /** A valid body: each request breaks it (or something else) on purpose. */
  body?: Record<string, unknown>;
  fields?: Field[];
  /** Routes that read the Idempotency-Key (a reserved or oversized key is refused only there). */
  readsKey?: boolean;
  approvalsQuery?: boolean;
}

const id = (name: string, required = true): Field => ({ name, type: 'string', required, max: 200 });
const ENDPOINTS: Endpoint[] = [
  {
    name: 'sms-received',
    method: 'post',
    role: 'service',
    path: () => '/orchestrate/sms-received',
    hasId: false,
    body: { tenant_id: TENANT, phone_number: PHONE, content: 'Hi, what is my balance?', conversation_id: CONVERSATION, message_id: 'fuzz-m-1' },
    fields: [
      id('tenant_id'),
      { name: 'phone_number', type: 'string', required: true, max: 40, phone: true },
      { name: 'content', type: 'string', required: true, max: 2_000, sms: true },
      id('conversation_id', false),
      id('message_id', false),
    ],
    readsKey: true,
  },
  {
    name: 'approve-response',
    method: 'post',
    role: 'manager',
    path: () => '/orchestrate/approve-response',
    hasId: false,
    body: { response_queue_id: DRAFT, action: 'approve', manager_id: 'manager-1' },
    fields: [
      id('response_queue_id'),
      { name: 'action', type: 'string', required: true, max: 8 },
      { name: 'approved_text', type: 'string', required: false, max: 2_000 },
      { name: 'modified_text', type: 'string', required: false, max: 2_000 },
      { name: 'escalation_reason', type: 'string', required: false, max: 500 },
      id('manager_id', false),
    ],
    readsKey: true,
  },
  {
    name: 'escalate',
    method: 'post',
    role: 'manager',
    path: () => '/orchestrate/escalate',
    hasId: false,
    body: { conversation_id: CONVERSATION, reason: 'debtor called the office' },
    fields: [id('conversation_id'), { name: 'reason', type: 'string', required: true, max: 500 }],
    readsKey: true,
  },
  { name: 'retry', method: 'post', role: 'manager', path: (i) => `/orchestrate/retry/${i}`, hasId: true, body: {}, fields: [], readsKey: true },
  {
    name: 'event sms.received',
    method: 'post',
    role: 'service',
    path: (i) => `/v1/conversations/${i}/events`,
    hasId: true,
    body: { type: 'sms.received', text: 'Can I pay $50 a week?', tenant_id: TENANT, phone_number: PHONE, message_id: 'fuzz-m-2' },
    fields: [
      { name: 'type', type: 'string', required: true, max: 20 },
      { name: 'text', type: 'string', required: true, max: 2_000, sms: true },
      id('tenant_id', false),
      { name: 'phone_number', type: 'string', required: false, max: 40, phone: true },
      id('message_id', false),
    ],
    readsKey: true,
  },
  {
    name: 'event payment.received',
    method: 'post',
    role: 'service',
    path: (i) => `/v1/conversations/${i}/events`,
    hasId: true,
    body: { type: 'payment.received', amount_cents: 5_000, paid_in_full: false },
    fields: [
      { name: 'type', type: 'string', required: true, max: 20 },
      { name: 'amount_cents', type: 'number', required: true },
      { name: 'paid_in_full', type: 'boolean', required: false },
    ],
    readsKey: true,
  },
  {
    name: 'event staff.close',
    method: 'post',
    role: 'manager',
    path: (i) => `/v1/conversations/${i}/events`,
    hasId: true,
    body: { type: 'staff.close', reason: 'paid by phone' },
    fields: [
      { name: 'type', type: 'string', required: true, max: 20 },
      { name: 'reason', type: 'string', required: false, max: 500 },
    ],
    readsKey: true,
  },
  { name: 'conversation', method: 'get', role: 'manager', path: (i) => `/v1/conversations/${i}`, hasId: true },
  { name: 'transitions', method: 'get', role: 'service', path: (i) => `/v1/conversations/${i}/transitions`, hasId: true },
  { name: 'workflow status', method: 'get', role: 'service', path: (i) => `/orchestrate/workflow/${i}/status`, hasId: true },
  { name: 'approvals', method: 'get', role: 'manager', path: () => '/v1/approvals', hasId: false, approvalsQuery: true },
  { name: 'machine', method: 'get', role: 'service', path: () => '/v1/machine', hasId: false },
  { name: 'metrics', method: 'get', role: 'manager', path: () => '/orchestrate/metrics', hasId: false },
  { name: 'dependencies', method: 'get', role: 'manager', path: () => '/health/dependencies', hasId: false },
  { name: 'prometheus', method: 'get', role: 'service', path: () => '/metrics', hasId: false },
];

/** What a generated request is, before it is sent. */
interface Hostile {
  endpoint: Endpoint;
  kind: string;
  pathId: string;
  query: string;
  headers: Record<string, string>;
  /** The raw body text (JSON or not), or undefined for none. */
  body?: string;
}

// ---- hostile pieces ----

/** Characters no field but an SMS text may hold: NUL, C0, DEL, C1, lone surrogates. */
const badChar = fc.oneof(
  fc.constant('\u0000'),
  fc.integer({ min: 1, max: 0x1f }).filter((c) => c !== 9 && c !== 10 && c !== 13).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x7f, max: 0x9f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);
/** A string that holds at least one of them somewhere. */
const withBadChar = fc.tuple(fc.string({ maxLength: 30 }), badChar, fc.string({ maxLength: 30 })).map(([a, c, b]) => `${a}${c}${b}`);
/** `nullIsAbsent`: an optional field of a compatibility body, where null means absent (docs/api.md). */
const wrongTypeFor = (type: FieldType, nullIsAbsent: boolean) =>
  fc.oneof(
    ...(type !== 'string' ? [fc.string({ maxLength: 20 })] : []),
    ...(type !== 'number' ? [fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))] : []),
    ...(type !== 'boolean' ? [fc.boolean()] : []),
    ...(nullIsAbsent ? [] : [fc.constant(null)]),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  );
/** Longer than the field takes: past the limit, sometimes past the 64 kB body limit (413). */
const tooLong = (max: number) =>
  fc.tuple(fc.integer({ min: max + 1, max: max + 3_000 }), fc.constantFrom('x', 'é', '😀', 'ab'), fc.integer({ min: 0, max: 19 })).map(([length, unit, dice]) =>
    // zod measures strings in code points, not UTF-16 units.
    unit.repeat(Math.ceil((dice === 0 ? 70_000 : length) / Array.from(unit).length)),
  );
/** encodeURIComponent throws on a lone surrogate: those go into URLs as raw bytes instead (badPathId). */
const encodable = (value: string) => {
  try {
    encodeURIComponent(value);
    return true;
  } catch {
    return false;
  }
};
const garbagePhone = fc
  .oneof(
    fc.constantFrom('(((((', '-. .-', '12345', '+', '1-800-FLOWERS', '+1 555 123 4567 ext 2', '+10005550100', '+999123456', '555', '++15550600001'),
    fc.stringMatching(/^[0-9 ().+-]{0,12}$/),
    fc.string({ maxLength: 25 }),
  )
  .filter((value) => normalisePhone(value) === null);
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
/** Nested deeper than the guard's 32 levels, as JSON text (building it as objects would be slow). */
const deepJson = fc.tuple(fc.integer({ min: 33, max: 3_000 }), fc.boolean()).map(([depth, arrays]) =>
  arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
);
/** Ids a path must refuse: control characters (percent-encoded), escapes that are not UTF-8, a lone surrogate's bytes, too long. */
const badPathId = fc.oneof(
  fc.constantFrom('%00', 'conv%00x', '%C2%85', '%ED%A0%BD', '%E0%A4%A', '%FF', 'a%1Fb', '%7F'),
  withBadChar.filter(encodable).map((value) => encodeURIComponent(value)),
  fc.integer({ min: 201, max: 600 }).map((length) => 'c'.repeat(length)),
);
/** Ids that are legal but name nothing: for reads only (404), never for writes. */
const oddPathId = fc.oneof(
  fc.constantFrom('..', '.', '%20', 'conv-%F0%9F%98%80', 'x%2Fy', "'%20or%201=1--", 'null', 'undefined', '__proto__', 'constructor'),
  fc.string({ minLength: 1, maxLength: 40 }).filter((value) => value.trim().length > 0 && findUnsafeCharacter(value) === null).map(encodeURIComponent),
);
const badCursor = fc.oneof(
  withBadChar.map((after) => Buffer.from(JSON.stringify({ after })).toString('base64url')),
  fc.constantFrom({ after: 5 }, { after: '' }, { after: null }, {}, [], { after: 'z'.repeat(400) }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')),
  fc.constantFrom('not-base64!', '%00', '====', 'eyJ'),
);
/** Headers that carry characters Node lets through (Latin-1 C1 controls; C0 are refused by the client itself). */
const c1Header = fc.tuple(fc.string({ maxLength: 10 }).filter((value) => /^[\x20-\x7e]*$/.test(value)), fc.integer({ min: 0x80, max: 0x9f })).map(
  ([prefix, code]) => `${prefix}${String.fromCharCode(code)}`,
);

// ---- requests ----

type Mutation = (request: Hostile) => Hostile;
const setField = (name: string, value: unknown): Mutation => (request) => ({ ...request, body: withField(request.body!, name, value) });
function withField(body: string, name: string, value: unknown) {
  const object = JSON.parse(body) as Record<string, unknown>;
  // defineProperty: an assignment to "__proto__" would set the prototype instead of a key.
  Object.defineProperty(object, name, { value, enumerable: true, configurable: true, writable: true });
  return JSON.stringify(object);
}
const dropField = (name: string): Mutation => (request) => {
  const object = JSON.parse(request.body!) as Record<string, unknown>;
  delete object[name];
  return { ...request, body: JSON.stringify(object) };
};

/** One mutation that the endpoint must refuse, with its kind for the report. */
function mustRefuse(endpoint: Endpoint): fc.Arbitrary<[string, Mutation]> {
  const options: Array<fc.Arbitrary<[string, Mutation]>> = [
    withBadChar.filter(encodable).map((value): [string, Mutation] => ['bad char in query', (r) => ({ ...r, query: `${r.query}&q=${encodeURIComponent(value)}` })]),
    c1Header.map((value): [string, Mutation] => ['C1 in Idempotency-Key', (r) => ({ ...r, headers: { ...r.headers, 'Idempotency-Key': value } })]),
  ];
  if (endpoint.hasId) options.push(badPathId.map((value): [string, Mutation] => ['bad path id', (r) => ({ ...r, pathId: value })]));
  if (endpoint.readsKey) {
    options.push(
      fc.constantFrom('result:x', 'timer:x', 'generated:x', 'k'.repeat(201)).map((value): [string, Mutation] => ['reserved or long key', (r) => ({ ...r, headers: { ...r.headers, 'Idempotency-Key': value } })]),
    );
  }
  if (endpoint.approvalsQuery) {
    options.push(
      fc.oneof(fc.constantFrom('status=paid', 'status=', 'limit=0', 'limit=201', 'limit=abc', 'limit=1.5', 'limit=1e3', 'limit=-1'), badCursor.map((cursor) => `cursor=${cursor}`)).map(
        (query): [string, Mutation] => ['bad approvals query', (r) => ({ ...r, query: `${r.query}&${query}` })],
      ),
    );
  }
  // Body mutations are many and specific to each field: weighted up, so that they are not drowned by the few
  // query and header ones every endpoint shares.
  const body: Array<fc.Arbitrary<[string, Mutation]>> = [];
  if (endpoint.method === 'post') {
    const fields = endpoint.fields ?? [];
    body.push(
      fc.constantFrom('{"a":', '{oops}', "{'a':1}", '"just a string"', '{"a":1}}', 'nul\u0000', '{"a":"\\ud83d', '[1,2,').map((raw): [string, Mutation] => ['not JSON', (r) => ({ ...r, body: raw })]),
      fc.tuple(fc.constantFrom(...PROTO_KEYS), fc.jsonValue({ maxDepth: 2 })).map(([key, value]): [string, Mutation] => ['prototype key', setField(key, value)]),
      fc.tuple(fc.string({ minLength: 1, maxLength: 10 }).filter((k) => findUnsafeCharacter(k) === null && !(PROTO_KEYS as readonly string[]).includes(k)), deepJson).map(
        ([key, deep]): [string, Mutation] => ['deep nesting', (r) => ({ ...r, body: r.body!.replace(/^\{/, `{${JSON.stringify(`x-${key}`)}:${deep},`).replace(/,}$/, '}') })],
      ),
      fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), withBadChar).map(([key, value]): [string, Mutation] => ['bad char in an unknown field', setField(`extra-${key}`, { nested: [value] })]),
      withBadChar.map((key): [string, Mutation] => ['bad char in a key', setField(key, 1)]),
    );
    for (const field of fields) {
      const nullIsAbsent = !field.required && endpoint.path(CONVERSATION).startsWith('/orchestrate/');
      body.push(wrongTypeFor(field.type, nullIsAbsent).map((value): [string, Mutation] => [`wrong type: ${field.name}`, setField(field.name, value)]));
      if (field.required) body.push(fc.constant<[string, Mutation]>([`missing: ${field.name}`, dropField(field.name)]));
      if (field.type === 'string' && field.max) body.push(tooLong(field.max).map((value): [string, Mutation] => [`too long: ${field.name}`, setField(field.name, value)]));
      if (field.type === 'string' && !field.sms) body.push(withBadChar.map((value): [string, Mutation] => [`bad char: ${field.name}`, setField(field.name, value)]));
      if (field.phone) body.push(garbagePhone.map((value): [string, Mutation] => ['garbage phone number', setField(field.name, value)]), garbagePhone.map((value): [string, Mutation] => ['garbage phone number', setField(field.name, value)]));
    }
  }
  return fc.oneof(...options.map((arbitrary) => ({ arbitrary, weight: 1 })), ...body.map((arbitrary) => ({ arbitrary, weight: 2 })));
}

/** Noise that changes nothing about the verdict: odd characters in SMS texts (normalised), harmless extra fields. */
function noise(endpoint: Endpoint): fc.Arbitrary<Mutation[]> {
  const options: Array<fc.Arbitrary<Mutation>> = [fc.constant((r: Hostile) => r)];
  if (endpoint.method === 'post' && endpoint.body) {
    for (const field of endpoint.fields ?? []) {
      if (field.sms) options.push(fc.tuple(withBadChar, fc.string({ minLength: 1, maxLength: 20 })).map(([bad, text]): Mutation => setFieldIfJson(field.name, `${text}${bad}`)));
    }
    options.push(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => findUnsafeCharacter(k) === null && !(PROTO_KEYS as readonly string[]).includes(k)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }).map(
      (extra): Mutation => (r) => Object.entries(extra).reduce((acc, [key, value]) => setFieldIfJson(`extra_${key}`, value)(acc), r),
    ));
  }
  return fc.array(fc.oneof(...options), { maxLength: 2 });
}
const setFieldIfJson = (name: string, value: unknown): Mutation => (r) => {
  try {
    const parsed = JSON.parse(r.body ?? '') as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return r;
  } catch {
    return r;
  }
  return setField(name, value)(r);
};

const hostileRequest: fc.Arbitrary<Hostile> = fc.constantFrom(...ENDPOINTS).chain((endpoint) =>
  fc
    .tuple(
      noise(endpoint),
      mustRefuse(endpoint),
      endpoint.method === 'get' && endpoint.hasId ? fc.option(oddPathId, { nil: undefined }) : fc.constant(undefined),
    )
    .map(([noises, [kind, refuse], oddId]) => {
      const base: Hostile = {
        endpoint,
        kind,
        pathId: oddId ?? CONVERSATION,
        query: endpoint.approvalsQuery ? 'status=pending&limit=10' : '',
        headers: { 'Idempotency-Key': 'fuzz-key-1' },
        ...(endpoint.body ? { body: JSON.stringify(endpoint.body) } : {}),
      };
      // Noise first, so the refusal is never undone by it.
      return refuse(noises.reduce((acc, mutate) => mutate(acc), base));
    }),
);

// ---- the database, byte for byte ----

async function databaseDigest(): Promise<Record<string, string>> {
  const db = harness.orchestrator.db;
  const { rows: tables } = await sql<{ schema: string; name: string }>`
    select table_schema as schema, table_name as name from information_schema.tables
    where table_schema in ('public', 'graphile_worker') and table_type = 'BASE TABLE' order by 1, 2`.execute(db);
  const digest: Record<string, string> = {};
  for (const table of tables) {
    const { rows } = await sql<{ n: number; md5: string }>`
      select count(*)::int as n, md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as md5
      from ${sql.table(`${table.schema}.${table.name}`)} t`.execute(db);
    digest[`${table.schema}.${table.name}`] = `${rows[0]!.n}:${rows[0]!.md5}`;
  }
  return digest;
}

function assertTextEverywhere(value: unknown, path = 'body') {
  if (typeof value === 'string') {
    expect({ path, found: findUnsafeCharacter(value) }).toEqual({ path, found: null });
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) assertTextEverywhere(child, `${path}.${key}`);
  }
}

describe('hostile input', () => {
  it(`when ${NUM_RUNS} hostile requests hit every endpoint with a valid token, then each gets a 4xx in the error shape and the database is unchanged`, async () => {
    const service = harness.token('service');
    const manager = harness.token('manager', 'manager-1');
    // Something for the requests to aim at: a conversation (in drafting: the worker is off) and a pending draft.
    await request(harness.url)
      .post('/orchestrate/sms-received')
      .set('Authorization', `Bearer ${service}`)
      .set('Idempotency-Key', 'fuzz-setup')
      .send({ tenant_id: TENANT, phone_number: PHONE, content: 'Hi, what is my balance?', conversation_id: CONVERSATION })
      .expect(202);
    await harness.orchestrator.db
      .insertInto('drafts')
      .values({
        id: DRAFT,
        conversation_id: CONVERSATION,
        drafter: 'rules',
        confidence: 0.7,
        intents: JSON.stringify(['question']),
        text: 'Hi, this is a debt collector. Reply STOP to opt out.',
        review_status: 'pending',
        queued_at: new Date(),
      } as never)
      .execute();

    const before = await databaseDigest();
    const statuses = new Map<number, number>();
    const kinds = new Map<string, number>();
    let sent = 0;

    await fc.assert(
      fc.asyncProperty(hostileRequest, async (hostile) => {
        const { endpoint } = hostile;
        const url = `${endpoint.path(hostile.pathId)}${hostile.query ? `?${hostile.query.replace(/^&/, '')}` : ''}`;
        let call = request(harness.url)[endpoint.method](url).set('Authorization', `Bearer ${endpoint.role === 'service' ? service : manager}`);
        for (const [name, value] of Object.entries(hostile.headers)) call = call.set(name, value);
        if (hostile.body !== undefined) call = call.set('Content-Type', 'application/json').send(hostile.body);
        const response = await call;
        sent += 1;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        kinds.set(hostile.kind, (kinds.get(hostile.kind) ?? 0) + 1);

        const context = `${endpoint.method.toUpperCase()} ${url.slice(0, 200)} (${hostile.kind}) → ${response.status} ${response.text.slice(0, 300)}`;
        expect({ context, clientError: response.status >= 400 && response.status < 500 }).toEqual({ context, clientError: true });
        expect(response.body).toMatchObject({
          error: { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) },
          request_id: response.headers['x-request-id'],
        });
        // What we answer is text too: no hostile character is echoed back.
        assertTextEverywhere(response.body);
      }),
      { numRuns: NUM_RUNS, endOnFailure: true },
    );

    expect(await databaseDigest()).toEqual(before);
    expect(sent).toBeGreaterThanOrEqual(NUM_RUNS);
    // The report: how many requests, which answers, which kinds of hostility.
    console.info(
      `hostile-input: ${sent} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}; kinds ${JSON.stringify(Object.fromEntries([...kinds].sort()))}`,
    );
  }, 120_000);
});
