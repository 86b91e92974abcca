import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { queuedJobs } from '../helpers/jobs.js';

/**
 * Conversations stored by the first release of the machine (flat states, no plan fields in the context,
 * a draft carrying `plan` as weekly amount and weeks) keep loading and move on under this one.
 */

let testDb: TestDatabase;
let runtime: Runtime;
beforeAll(async () => {
  testDb = await createTestDatabase();
  runtime = testRuntime(testDb.db);
});
afterAll(() => testDb.drop());

/** A pendingApproval snapshot exactly as the first release wrote it (copied from a stored row). */
const FIRST_RELEASE_SNAPSHOT = {
  value: 'pendingApproval',
  status: 'active',
  context: {
    conversationId: 'c-old',
    tenantId: 'tenant-1',
    phone: '+15550001111',
    unanswered: [{ text: 'I can pay $50 a week for 8 weeks', at: '2026-11-20T10:00:00.000Z', messageId: 'm-1' }],
    draft: {
      id: 'draft-old',
      text: 'Thanks. We got your offer of $50.00 a week for 8 weeks. We will review it and reply soon. This is a debt collector. Reply STOP to opt out.',
      intents: ['payment_plan'],
      confidence: 0.7,
      drafter: 'rules',
      model: null,
      language: 'en',
      plan: { weeklyAmountCents: 5_000, weeks: 8 },
      reviewReason: null,
    },
    outgoing: null,
    approvalId: 'draft-old',
    slaLapses: 0,
    lastSent: null,
    sentCount: 0,
    paidCents: 0,
    escalation: null,
    failure: null,
  },
};

/** A conversation row written as an earlier release wrote it. */
async function storeConversation(id: string, state: string, snapshot: object, timers: Record<string, string> = {}) {
  await testDb.db
    .insertInto('conversations')
    .values({
      id,
      tenant_id: 'tenant-1',
      phone: '+15550001111',
      state,
      snapshot: JSON.stringify(snapshot),
      live_effects: JSON.stringify({ invokes: {}, timers }),
      machine_version: 'first-release',
      version: 1,
    })
    .execute();
}

/** The sender's result, as a worker feeds it back. */
const sent = (conversationId: string, smsId: string) =>
  runtime.apply({
    conversationId,
    event: { type: 'xstate.done.actor.sender', output: { smsId } },
    idempotencyKey: `sent-${conversationId}`,
    actor: 'worker',
    ifNotAccepted: 'reject',
  });

describe('snapshots stored by an earlier machine', () => {
  it('when a first-release conversation waiting for approval is approved, then it loads, sends, and carries the new fields', async () => {
    await storeConversation('c-old', 'pendingApproval', FIRST_RELEASE_SNAPSHOT, { 'timer.approval_sla': 'c-old:1:3' });
    const result = await runtime.apply({
      conversationId: 'c-old',
      event: { type: 'review.approved', approvalId: 'draft-old', managerId: 'alice' },
      idempotencyKey: 'approve-old',
      actor: 'manager:alice',
      ifNotAccepted: 'reject',
    });
    expect(result).toMatchObject({ state: 'sending.handingOff', outcome: 'applied', version: 2 });
    const row = await testDb.db.selectFrom('conversations').selectAll().where('id', '=', 'c-old').executeTakeFirstOrThrow();
    expect(row.snapshot.context).toMatchObject({
      offeredPlan: null,
      plan: null,
      draft: { id: 'draft-old', negotiation: null },
      outgoing: { text: FIRST_RELEASE_SNAPSHOT.context.draft.text, decidedBy: 'manager', offer: null },
    });
    expect(row.snapshot.context.draft).not.toHaveProperty('plan');
    // The texts it kept in `unanswered` became a count (they are in the messages table); the approval answered them.
    expect(row.snapshot.context.unanswered).toEqual({ count: 0, latestAt: null });
    expect(row.machine_version).not.toBe('first-release');

    expect((await sent('c-old', 'sms-old')).state).toBe('awaitingReply');
  });

  it('when the debtor writes again in a conversation stored with its texts in the snapshot, then the texts become a count and the drafter is asked for all of them', async () => {
    await storeConversation('c-texts', 'pendingApproval', { ...FIRST_RELEASE_SNAPSHOT, context: { ...FIRST_RELEASE_SNAPSHOT.context, conversationId: 'c-texts' } }, { 'timer.approval_sla': 'c-texts:1:3' });
    const at = '2026-11-21T09:00:00.000Z';
    const result = await runtime.apply({
      conversationId: 'c-texts',
      event: { type: 'sms.received', text: 'are you there?', messageId: 'm-2', at },
      idempotencyKey: 'm-2',
      actor: 'service:sms-agent',
      ifNotAccepted: 'record',
    });
    expect(result).toMatchObject({ state: 'drafting', outcome: 'applied' });
    const row = await testDb.db.selectFrom('conversations').select('snapshot').where('id', '=', 'c-texts').executeTakeFirstOrThrow();
    expect(row.snapshot.context.unanswered).toEqual({ count: 2, latestAt: at });
    const [job] = await queuedJobs(testDb.db, 'c-texts', 'invoke');
    expect(job!.payload.input).toMatchObject({ unansweredCount: 2 });
  });

  it("when a conversation is in a nested state, then the stored value is XState's own and audit rows carry the full path", async () => {
    const offer = { frequency: 'weekly', instalmentCents: 20_000, count: 1, downPaymentCents: 0, totalCents: 20_000, schedule: [{ dueOn: '2026-12-04', amountCents: 20_000 }] };
    const context = { ...FIRST_RELEASE_SNAPSHOT.context, conversationId: 'c-nested', unanswered: [], outgoing: { text: 'x', decidedBy: 'auto', approvalId: null, key: 'k', offer } };
    await storeConversation('c-nested', 'sending', { ...FIRST_RELEASE_SNAPSHOT, value: 'sending', context });
    expect((await sent('c-nested', 'sms-1')).state).toBe('negotiating.awaitingConfirmation');
    const row = await testDb.db.selectFrom('conversations').select(['state', 'snapshot']).where('id', '=', 'c-nested').executeTakeFirstOrThrow();
    expect(row.snapshot.value).toEqual({ negotiating: 'awaitingConfirmation' });
    const trail = await testDb.db.selectFrom('transitions').select(['from_state', 'to_state']).where('conversation_id', '=', 'c-nested').orderBy('seq').execute();
    expect(trail.map((t) => [t.from_state, t.to_state])).toEqual([
      ['sending', 'sent'],
      ['sent', 'negotiating.awaitingConfirmation'],
    ]);
  });
});
