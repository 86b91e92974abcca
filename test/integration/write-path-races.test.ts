import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { insertDraft } from '../../src/db/drafts.repository.js';
import { AppError } from '../../src/errors.js';
import type { ApplyResult, EventEnvelope, Runtime } from '../../src/runtime/apply-event.js';
import { verifyChains } from '../../src/runtime/audit-verify.js';
import { makeDraft } from '../helpers/fixtures.js';
import { invokeResult, queuedJobs, type QueuedJob } from '../helpers/jobs.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The write path under random schedules (src/runtime/apply-event.ts, src/db/event-store.ts,
 * src/runtime/group-commit.ts): concurrent applies from three runtimes (two remembering what they wrote, one
 * reading every time) on a few conversations of two tenants, mixing conversations created by id and by
 * (tenant, number) under different derived ids, the same key sent again (at once, later, and for another kind
 * of event), events the machine refuses or only records, and results of invokes that may have been stopped
 * meanwhile. After each schedule, what the database holds must be what the callers were told.
 */

let testDb: TestDatabase;
let runtimes: Runtime[];
beforeAll(async () => {
  testDb = await createTestDatabase();
  runtimes = [testRuntime(testDb.db, { rememberConversations: 100 }), testRuntime(testDb.db), testRuntime(testDb.db, { rememberConversations: 100 })];
});
afterAll(() => testDb.drop());

const TENANTS = ['wr-tenant-a', 'wr-tenant-b'] as const;
/** Targets of one schedule: conversations named by id, and each tenant's default conversation of one number (two derived ids for A's). */
const BY_ID = ['c0', 'c1'] as const;
const DEFAULTS = [
  { tenant: 0, id: 'da-x' },
  { tenant: 0, id: 'da-y' },
  { tenant: 1, id: 'db-x' },
] as const;

type Op =
  | { kind: 'sms'; target: (typeof BY_ID)[number]; tenant: 0 | 1 }
  | { kind: 'smsDefault'; which: 0 | 1 | 2 }
  | { kind: 'staff'; target: (typeof BY_ID)[number]; type: 'staff.close' | 'staff.resume' | 'staff.escalate' }
  | { kind: 'staleResult'; target: (typeof BY_ID)[number] }
  | { kind: 'liveDraft'; target: (typeof BY_ID)[number] }
  | { kind: 'timer'; target: (typeof BY_ID)[number]; stale: boolean }
  | { kind: 'again'; of: number; as: 'same' | 'otherType' | 'otherTenant' };

const target = fc.constantFrom(...BY_ID);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sms' as const), target, tenant: fc.constantFrom(0 as const, 0 as const, 0 as const, 1 as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('smsDefault' as const), which: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('staff' as const), target, type: fc.constantFrom('staff.close' as const, 'staff.resume' as const, 'staff.escalate' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('staleResult' as const), target }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('liveDraft' as const), target }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('timer' as const), target, stale: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('again' as const), of: fc.nat(40), as: fc.constantFrom('same' as const, 'same' as const, 'otherType' as const, 'otherTenant' as const) }) },
);
/** A schedule: waves of ops run at once, each on one of the runtimes. */
const schedule = fc.array(fc.array(fc.record({ op, runtime: fc.nat(2) }), { minLength: 2, maxLength: 7 }), { minLength: 2, maxLength: 4 });

let run = 0;

/** A drafter's result as the worker applies it (test/helpers/jobs.ts invokeResult, from a token rather than a queued job). */
const drafterResult = (conversationId: string, token: string, output: ReturnType<typeof makeDraft>): EventEnvelope =>
  invokeResult({ payload: { conversationId, invokeId: 'drafter', token } } as QueuedJob, { type: 'xstate.done.actor.drafter', output });

interface Sent {
  envelope: EventEnvelope;
  /** The tenant that sent it, when the event may create its conversation. */
  tenant: string | null;
  outcome: { ok: ApplyResult } | { error: unknown };
}

const OK_REFUSALS = new Set(['event_not_allowed', 'idempotency_key_reused', 'conversation_mismatch', 'not_found']);

describe('the write path under random concurrent schedules', () => {
  it('applies each key at most once, answers as the inbox says, keeps versions and chains whole, and never crosses tenants', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (waves) => {
        const r = ++run;
        const id = (name: string) => `wr${r}-${name}`;
        const phone = (k: number) => `+1202555${String(r * 4 + k).padStart(4, '0')}`;
        const tenantPhone = (tenant: 0 | 1) => phone(tenant); // each tenant's number of this run (tenant B's c0 attempts use its own)
        const byIdPhone = (name: string) => (name === 'c0' ? phone(2) : phone(3));
        const sent: Sent[] = [];
        let n = 0;

        async function envelopeOf(o: Op): Promise<{ envelope: EventEnvelope; tenant: string | null } | null> {
          const key = `${id('k')}-${++n}`;
          const at = new Date().toISOString();
          switch (o.kind) {
            case 'sms': {
              const conversationId = id(o.target);
              const tenantId = TENANTS[o.tenant];
              const create = { conversationId, tenantId, phone: o.tenant === 0 ? byIdPhone(o.target) : tenantPhone(1) };
              const envelope: EventEnvelope = { conversationId, event: { type: 'sms.received', text: `text ${key}`, messageId: key, at }, idempotencyKey: key, actor: 'service:test', create, ifNotAccepted: 'record' };
              return { envelope, tenant: tenantId };
            }
            case 'smsDefault': {
              const { tenant, id: name } = DEFAULTS[o.which];
              const conversationId = id(name);
              const tenantId = TENANTS[tenant];
              const create = { conversationId, tenantId, phone: tenantPhone(tenant) };
              const envelope: EventEnvelope = { conversationId, event: { type: 'sms.received', text: `text ${key}`, messageId: key, at }, idempotencyKey: key, actor: 'service:test', create, defaultConversation: true, ifNotAccepted: 'record' };
              return { envelope, tenant: tenantId };
            }
            case 'staff': {
              const event = o.type === 'staff.escalate' ? { type: o.type, by: 'm-1', reason: 'test' } : { type: o.type, by: 'm-1' };
              return { envelope: { conversationId: id(o.target), event, idempotencyKey: key, actor: 'manager:m-1', ifNotAccepted: 'reject' }, tenant: null };
            }
            case 'staleResult': {
              // A token this conversation never issued (version 0 issues none): stopped long ago.
              return { envelope: drafterResult(id(o.target), `${id(o.target)}:0:${n}`, makeDraft({ id: `${key}-draft` })), tenant: null };
            }
            case 'liveDraft': {
              // The drafter live now (read without a lock): by the time its result is applied, a newer text may have stopped it.
              const row = await testDb.db.selectFrom('conversations').select('live_effects').where('id', '=', id(o.target)).executeTakeFirst();
              const token = (row?.live_effects as { invokes?: Record<string, string> } | undefined)?.invokes?.drafter;
              if (!token) return null;
              const output = makeDraft({ id: `${key}-draft`, confidence: 0.7 });
              await insertDraft(testDb.db, {
                id: output.id, conversationId: id(o.target), drafter: output.drafter, model: null, promptVersion: null, confidence: output.confidence,
                intents: output.intents, negotiation: null, reasons: [], rawText: null, text: output.text, reviewReason: output.reviewReason, usage: null, latencyMs: 1,
              });
              return { envelope: drafterResult(id(o.target), token, output), tenant: null };
            }
            case 'timer': {
              // A durable timer firing as the worker fires it: the one queued last (live unless an event since
              // replaced or cancelled it), or one this conversation never set.
              const [job] = (await queuedJobs(testDb.db, id(o.target), 'timer')).slice(-1);
              const payload = o.stale || !job ? { timerId: 'approvalSla', token: `${id(o.target)}:0:${n}`, event: { type: 'timer.approval_sla' } } : job.payload;
              const envelope: EventEnvelope = {
                conversationId: id(o.target),
                event: payload.event,
                idempotencyKey: `timer:${payload.token}`,
                actor: 'timer',
                origin: { kind: 'timer', id: payload.timerId, token: payload.token },
                ifNotAccepted: 'record',
              };
              return { envelope, tenant: null };
            }
            case 'again': {
              const earlier = sent[o.of % Math.max(1, sent.length)];
              if (!earlier) return null;
              if (o.as === 'same') return { envelope: earlier.envelope, tenant: earlier.tenant };
              const { create } = earlier.envelope;
              if (o.as === 'otherTenant' && create && !earlier.envelope.defaultConversation) {
                // The same key and conversation id from the other tenant (its own number): never that conversation's answer.
                const tenant = create.tenantId === TENANTS[0] ? 1 : 0;
                const other = { ...create, tenantId: TENANTS[tenant], phone: tenantPhone(tenant) };
                return { envelope: { ...earlier.envelope, create: other }, tenant: other.tenantId };
              }
              // The same key for another kind of event on the same conversation.
              const other = earlier.envelope.event.type === 'staff.resume' ? { type: 'staff.close', by: 'm-2' } : { type: 'staff.resume', by: 'm-2' };
              return { envelope: { conversationId: earlier.envelope.conversationId, event: other, idempotencyKey: earlier.envelope.idempotencyKey, actor: 'manager:m-2', ifNotAccepted: 'reject' }, tenant: null };
            }
          }
        }

        for (const wave of waves) {
          // Envelopes first (in wave order, so `again` may name one of this wave), then all at once.
          const ready: Array<{ envelope: EventEnvelope; tenant: string | null; runtime: Runtime }> = [];
          for (const step of wave) {
            const made = await envelopeOf(step.op);
            if (made) ready.push({ ...made, runtime: runtimes[step.runtime]! });
            if (made) sent.push({ ...made, outcome: { error: 'pending' } });
          }
          const base = sent.length - ready.length;
          await Promise.all(
            ready.map(async ({ envelope, runtime }, i) => {
              try {
                sent[base + i]!.outcome = { ok: await runtime.apply(envelope) };
              } catch (error) {
                sent[base + i]!.outcome = { error };
              }
            }),
          );
        }

        await checkInvariants(r, id, sent, tenantPhone);
      }),
      { numRuns: 40, endOnFailure: true },
    );
  }, 120_000);
});

async function checkInvariants(r: number, id: (name: string) => string, sent: Sent[], tenantPhone: (tenant: 0 | 1) => string) {
  const db = testDb.db;
  // Every refusal is one the API documents; nothing gave up (write_contention) or broke.
  for (const s of sent) {
    if ('error' in s.outcome) {
      const error = s.outcome.error;
      expect(error instanceof AppError ? error.code : error).toEqual(expect.any(String));
      if (!(error instanceof AppError) || !OK_REFUSALS.has(error.code)) throw error;
    }
  }
  const prefix = `wr${r}-`;
  const conversations = await db.selectFrom('conversations').selectAll().where('id', 'like', `${prefix}%`).execute();
  const conversationIds = conversations.map((c) => c.id);
  const inbox = conversationIds.length === 0 ? [] : await db.selectFrom('inbox').selectAll().where('conversation_id', 'in', conversationIds).execute();
  const messages = conversationIds.length === 0 ? [] : await db.selectFrom('messages').select(['conversation_id', 'event_id']).where('conversation_id', 'in', conversationIds).where('direction', '=', 'inbound').execute();

  // Each key at most once, on one conversation (a default conversation's two derived ids never both took it).
  const inboxByKey = new Map<string, (typeof inbox)[number]>();
  for (const row of inbox) {
    expect(inboxByKey.has(row.idempotency_key)).toBe(false);
    inboxByKey.set(row.idempotency_key, row);
  }

  // What each caller got is what the inbox holds; one caller per key wrote it, the others heard a duplicate.
  const writers = new Map<string, number>();
  for (const s of sent) {
    const key = s.envelope.idempotencyKey;
    const stored = inboxByKey.get(key);
    if ('ok' in s.outcome) {
      const { duplicate, ...answer } = s.outcome.ok;
      expect(stored).toBeDefined();
      expect(stored!.conversation_id).toBe(answer.conversationId);
      expect(stored!.event_type).toBe(s.envelope.event.type);
      expect(stored!.result).toEqual(answer);
      if (!duplicate) writers.set(key, (writers.get(key) ?? 0) + 1);
    } else {
      const code = (s.outcome.error as AppError).code;
      // A refused event wrote nothing under its key, unless another event (the one it reused the key of) did.
      if (stored) {
        expect(code === 'idempotency_key_reused' || sent.some((o) => o !== s && o.envelope.idempotencyKey === key && 'ok' in o.outcome)).toBe(true);
      }
      if (code === 'idempotency_key_reused') expect(stored && stored.event_type !== s.envelope.event.type).toBe(true);
    }
  }
  for (const row of inbox) expect([row.idempotency_key, writers.get(row.idempotency_key) ?? 0]).toEqual([row.idempotency_key, 1]);

  for (const conversation of conversations) {
    const rows = inbox.filter((row) => row.conversation_id === conversation.id);
    // Versions: every event that moved the row (applied, or a live timer the machine did not take) moved it one
    // version on, none skipped; nothing else here moves it.
    const moved = (row: (typeof rows)[number]) => row.outcome === 'applied' || (row.outcome === 'recorded' && row.idempotency_key.startsWith('timer:'));
    const applied = rows.filter(moved).map((row) => (row.result as ApplyResult).version).sort((a, b) => a - b);
    expect(applied).toEqual(Array.from({ length: conversation.version }, (_, i) => i + 1));
    for (const row of rows) expect((row.result as ApplyResult).version).toBeLessThanOrEqual(conversation.version);
    // Tenants: every event that named a tenant and landed here was this conversation's tenant's.
    for (const row of rows) {
      const senders = sent.filter((s) => s.envelope.idempotencyKey === row.idempotency_key && s.tenant !== null && 'ok' in s.outcome);
      for (const s of senders) expect([row.idempotency_key, s.tenant]).toEqual([row.idempotency_key, conversation.tenant_id]);
    }
  }
  // Refused across tenants: an event of another tenant on a conversation id got 409, never its answer.
  for (const s of sent) {
    if (s.tenant === null || !('ok' in s.outcome)) continue;
    const { conversationId } = s.outcome.ok;
    const conversation = conversations.find((c) => c.id === conversationId)!;
    expect(conversation.tenant_id).toBe(s.tenant);
  }
  // One default conversation per tenant and number, and every default text of it landed there.
  for (const tenant of [0, 1] as const) {
    const defaults = conversations.filter((c) => c.tenant_id === TENANTS[tenant] && c.default_for_phone === tenantPhone(tenant));
    expect(defaults.length).toBeLessThanOrEqual(1);
    for (const s of sent) {
      if (!s.envelope.defaultConversation || s.tenant !== TENANTS[tenant] || !('ok' in s.outcome)) continue;
      expect(s.outcome.ok.conversationId).toBe(defaults[0]?.id);
    }
  }
  // One inbound message per text applied or recorded, and none for anything else.
  const texts = inbox.filter((row) => row.event_type === 'sms.received').map((row) => `${row.conversation_id}/${row.idempotency_key}`).sort();
  expect(messages.map((m) => `${m.conversation_id}/${m.event_id}`).sort()).toEqual(texts);
  expect((await verifyChains(db, conversationIds)).breaks).toEqual([]);
  if (process.env.WR_DEBUG) console.log(JSON.stringify(sent.map((s) => ('ok' in s.outcome ? `${s.envelope.event.type}:${s.outcome.ok.outcome}${s.outcome.ok.duplicate ? ':dup' : ''}` : `${s.envelope.event.type}:${(s.outcome.error as AppError).code}`))));
  void id;
}

describe('a text without an id whose derived id another conversation already has', () => {
  // The derived id is only the id a new default conversation gets; a conversation named with that id (by
  // another tenant, or for another number) is not the number's default, so the default lookup misses it.
  const named = (conversationId: string, tenantId: string, phone: string, key: string): EventEnvelope => ({
    conversationId,
    event: { type: 'sms.received', text: 'hello', messageId: key, at: new Date().toISOString() },
    idempotencyKey: key,
    actor: 'service:test',
    create: { conversationId, tenantId, phone },
    ifNotAccepted: 'record',
  });
  const unnamed = (conversationId: string, tenantId: string, phone: string, key: string): EventEnvelope => ({ ...named(conversationId, tenantId, phone, key), defaultConversation: true });

  it("when the key is one the other tenant's conversation used, then the caller is refused, not handed that conversation's answer", async () => {
    const runtime = runtimes[1]!;
    await runtime.apply(named('wr-taken-1', TENANTS[1], '+12025559001', 'wr-taken-key'));
    const attempt = runtime.apply(unnamed('wr-taken-1', TENANTS[0], '+12025559002', 'wr-taken-key'));
    await expect(attempt).rejects.toMatchObject({ code: 'conversation_mismatch', status: 409 });
  });

  it('when the key is new, then the caller is refused at once (409), not told to retry after eight statements that lose', async () => {
    const runtime = runtimes[0]!;
    await runtime.apply(named('wr-taken-2', TENANTS[1], '+12025559003', 'wr-taken-key-a'));
    const attempt = runtime.apply(unnamed('wr-taken-2', TENANTS[0], '+12025559004', 'wr-taken-key-b'));
    await expect(attempt).rejects.toMatchObject({ code: 'conversation_mismatch', status: 409 });
    const inbox = await testDb.db.selectFrom('inbox').select('idempotency_key').where('conversation_id', '=', 'wr-taken-2').execute();
    expect(inbox.map((row) => row.idempotency_key)).toEqual(['wr-taken-key-a']);
  });

  it("when it is the same tenant's conversation of the number, named by a caller, then the text continues that thread", async () => {
    const runtime = runtimes[2]!;
    await runtime.apply(named('wr-taken-3', TENANTS[0], '+12025559005', 'wr-taken-key-c'));
    const result = await runtime.apply(unnamed('wr-taken-3', TENANTS[0], '+12025559005', 'wr-taken-key-d'));
    expect(result).toMatchObject({ conversationId: 'wr-taken-3', outcome: 'applied', version: 2, duplicate: false });
    expect((await verifyChains(testDb.db, ['wr-taken-3'])).breaks).toEqual([]);
  });
});

describe('targeted interleavings', () => {
  const sms = (conversationId: string, key: string, tenantId: string = TENANTS[0], phone = '+12025558000'): EventEnvelope => ({
    conversationId,
    event: { type: 'sms.received', text: `text ${key}`, messageId: key, at: new Date().toISOString() },
    idempotencyKey: key,
    actor: 'service:test',
    create: { conversationId, tenantId, phone },
    ifNotAccepted: 'record',
  });

  it('when two processes create the same new conversations in opposite orders (their batches may wait on each other), then every text applies once and nobody gets an error', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `wr-cross-${String(i).padStart(2, '0')}`);
    const [a, b] = [runtimes[0]!, runtimes[1]!];
    const results = await Promise.all([
      ...ids.map((id) => a.apply(sms(id, `${id}-a`))),
      ...[...ids].reverse().map((id) => b.apply(sms(id, `${id}-b`))),
    ]);
    expect(results.every((result) => result.outcome === 'applied' && !result.duplicate)).toBe(true);
    const rows = await testDb.db.selectFrom('conversations').select(['id', 'version']).where('id', 'in', ids).execute();
    expect(rows.map((row) => row.version)).toEqual(ids.map(() => 2));
    expect((await verifyChains(testDb.db, ids)).breaks).toEqual([]);
  }, 60_000);

  it('when the same recorded-only text (the conversation is closed) arrives at three processes at once, then one records it and the others answer it as a duplicate', async () => {
    for (let round = 0; round < 6; round += 1) {
      const id = `wr-closed-${round}`;
      await runtimes[0]!.apply(sms(id, `${id}-first`));
      await runtimes[0]!.apply({ conversationId: id, event: { type: 'staff.close', by: 'm-1' }, idempotencyKey: `${id}-close`, actor: 'manager:m-1', ifNotAccepted: 'reject' });
      const late = sms(id, `${id}-late`);
      const results = await Promise.all(runtimes.map((runtime) => runtime.apply(late)));
      expect(results.map((result) => result.outcome)).toEqual(['recorded', 'recorded', 'recorded']);
      expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
      const messages = await testDb.db.selectFrom('messages').select('event_id').where('conversation_id', '=', id).where('event_id', '=', `${id}-late`).execute();
      expect(messages).toHaveLength(1);
    }
  });

  it('when one key comes to two derived ids of the same default conversation at once, from three processes, then it is applied once, on one conversation', async () => {
    for (let round = 0; round < 6; round += 1) {
      const phone = `+1202555${String(8100 + round)}`;
      const key = `wr-two-ids-${round}`;
      const envelopes = ['x', 'y', 'z'].map((suffix): EventEnvelope => ({ ...sms(`wr-two-ids-${round}-${suffix}`, key, TENANTS[0], phone), defaultConversation: true }));
      const results = await Promise.all(runtimes.map((runtime, i) => runtime.apply(envelopes[i]!)));
      expect(new Set(results.map((result) => result.conversationId)).size).toBe(1);
      expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
      const created = await testDb.db.selectFrom('conversations').select('id').where('id', 'like', `wr-two-ids-${round}-%`).execute();
      expect(created).toHaveLength(1);
    }
  });
});
