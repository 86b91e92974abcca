import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { checkInvariants, waitForQuiescence, type Check } from '../../bench/lib/soak-checks.js';
import type { SendSeen } from '../../bench/lib/debtor-loop.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The processes benchmark's invariant checks (bench/lib/soak-checks.ts) against real Postgres: each must
 * pass on a healthy run and catch the failure it names. A check that cannot fail would bless any soak.
 */

let testDb: TestDatabase;
let runtime: Runtime;

// As in the bench, each debtor is a tenant of its own.
const DEBTORS = [
  { tenant: 'tenant-soak-0001', phone: '+15551230001' },
  { tenant: 'tenant-soak-0002', phone: '+15551230002' },
];
const PHONES = DEBTORS.map((debtor) => debtor.phone);

beforeAll(async () => {
  testDb = await createTestDatabase();
  runtime = testRuntime(testDb.db);
  // Each debtor texts once: the conversation is created, drafting, with its draft job queued.
  for (const [i, { tenant, phone }] of DEBTORS.entries()) {
    await runtime.apply({
      conversationId: `conv-soak-${i}`,
      event: { type: 'sms.received', text: 'how much do I owe?', messageId: `text-${i}`, at: new Date().toISOString() },
      idempotencyKey: `text-${i}`,
      actor: 'service:sms-agent',
      create: { conversationId: `conv-soak-${i}`, tenantId: tenant, phone },
      ifNotAccepted: 'record',
    });
  }
});
afterAll(() => testDb.drop());

const reply = (to: string, key: string): SendSeen => ({ to, idempotencyKey: key, receivedAtMs: Date.now() });
const healthy = { acknowledgedKeys: ['text-0', 'text-1'], tenants: DEBTORS.map((debtor) => debtor.tenant), debtors: DEBTORS, sends: PHONES.map((phone, i) => reply(phone, `draft-${i}`)) };
const failed = (checks: Check[]) => checks.filter((check) => !check.ok).map((check) => check.name);

describe('soak invariant checks', () => {
  it('all pass on a run where every text was taken in once, answered once, and every live invoke has its job', async () => {
    const checks = await checkInvariants(testDb.pool, healthy);
    expect(failed(checks)).toEqual([]);
    expect(checks.map((check) => check.name)).toHaveLength(5);
  });

  it('catches an acknowledged key that the database never applied', async () => {
    const checks = await checkInvariants(testDb.pool, { ...healthy, acknowledgedKeys: [...healthy.acknowledgedKeys, 'text-lost'] });
    expect(failed(checks)).toEqual(['every acknowledged event applied exactly once']);
  });

  it('catches a debtor answered twice, one not answered, a text to a stranger, and a send key seen twice', async () => {
    const twice = await checkInvariants(testDb.pool, { ...healthy, sends: [...healthy.sends, reply(PHONES[0]!, 'draft-again')] });
    expect(failed(twice)).toEqual(['every debtor text answered exactly once']);
    const none = await checkInvariants(testDb.pool, { ...healthy, sends: healthy.sends.slice(1) });
    expect(failed(none)).toEqual(['every debtor text answered exactly once']);
    const stranger = await checkInvariants(testDb.pool, { ...healthy, sends: [...healthy.sends, reply('+15559999999', 'draft-x')] });
    expect(failed(stranger)).toEqual(['every debtor text answered exactly once']);
    const sameKey = await checkInvariants(testDb.pool, { ...healthy, sends: [reply(PHONES[0]!, 'draft-0'), reply(PHONES[1]!, 'draft-0')] });
    expect(failed(sameKey)).toEqual(['no send key arrived twice at the SMS Agent']);
  });

  it('waits for a queue with a due job, and catches a conversation whose invoke lost its job and a job that used up its tries', async () => {
    const busy = await waitForQuiescence(testDb.pool, 1_500);
    expect(busy).toMatchObject({ reached: false, busyJobs: 2 });

    await testDb.pool.query(`update graphile_worker._private_jobs set attempts = max_attempts where payload ->> 'conversationId' = 'conv-soak-0'`);
    await testDb.pool.query(`delete from graphile_worker._private_jobs where payload ->> 'conversationId' = 'conv-soak-1'`);
    const checks = await checkInvariants(testDb.pool, healthy);
    expect(failed(checks)).toEqual(['no conversation stuck', 'no job left failed']);
    expect(checks.find((check) => check.name === 'no conversation stuck')!.detail).toContain('2 waiting for an invoke or timer');

    expect(await waitForQuiescence(testDb.pool, 5_000)).toMatchObject({ reached: true, busyJobs: 0 });
  });
});
