import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readDraftFacts } from '../../src/db/draft-facts.repository.js';
import { MAX_TEXTS_PER_REPLY, newestInbound } from '../../src/db/messages.repository.js';
import { countBrokenPlans } from '../../src/db/payment-plans.repository.js';
import { tenantTextedNumber } from '../../src/adapters/sms-delivery.js';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testRuntime } from '../helpers/runtime.js';

/**
 * The facts a draft reads in one statement are the facts the three single readers give, whatever the
 * conversation holds: no texts or many, a plan broken or not, a number texted before or not.
 */

const TENANT = 'tenant-facts';
const PHONE = '+15550777001';
let testDb: TestDatabase;
let runtime: Runtime | undefined;
beforeAll(async () => void (testDb = await createTestDatabase()));
afterAll(() => testDb.drop());

/** A debtor's text, written as the API writes it (the conversation is created by the first). */
async function text(conversationId: string, phone: string, i: number) {
  runtime ??= testRuntime(testDb.db);
  await runtime.apply({
    conversationId,
    event: { type: 'sms.received', text: `text ${i} of ${conversationId}`, messageId: `${conversationId}-m${i}`, at: new Date().toISOString() },
    idempotencyKey: `${conversationId}-k${i}`,
    actor: 'service:test',
    create: { conversationId, tenantId: TENANT, phone },
    ifNotAccepted: 'record',
  });
}

const singly = async (conversationId: string, count: number, phone: string) => ({
  unanswered: (await newestInbound(testDb.db, [{ conversationId, count }])).get(conversationId)!,
  brokenPlans: await countBrokenPlans(testDb.db, TENANT),
  textedBefore: await tenantTextedNumber(testDb.db, TENANT, phone),
});

describe('the facts of a draft, in one statement', () => {
  it('when the conversation has no texts, some, or more than a reply reads, then its facts are the single readers\' facts', async () => {
    for (let i = 0; i < 3; i++) await text('conv-facts-a', PHONE, i);
    for (const count of [0, 1, 3, MAX_TEXTS_PER_REPLY + 5]) {
      const facts = await readDraftFacts(testDb.db, { conversationId: 'conv-facts-a', count, tenantId: TENANT, phone: PHONE });
      expect(facts).toEqual(await singly('conv-facts-a', count, PHONE));
    }
    const three = await readDraftFacts(testDb.db, { conversationId: 'conv-facts-a', count: 3, tenantId: TENANT, phone: PHONE });
    expect(three.unanswered.map((message) => message.messageId)).toEqual(['conv-facts-a-k0', 'conv-facts-a-k1', 'conv-facts-a-k2']);
    expect(three).toMatchObject({ brokenPlans: 0, textedBefore: false });
  });

  it('when the tenant has broken plans and our texts reached the number (a confirmation does not count), then both facts say so', async () => {
    await text('conv-facts-b', '+15550777002', 0);
    const plan = { conversation_id: 'conv-facts-b', tenant_id: TENANT, frequency: 'weekly', instalment_cents: 1000, instalment_count: 3, down_payment_cents: 0, total_cents: 3000, paid_cents: 0, missed: 2, time_zone: 'UTC' };
    await testDb.db.insertInto('payment_plans').values([{ ...plan, id: 'plan-facts-1', status: 'broken' }, { ...plan, id: 'plan-facts-2', status: 'broken' }, { ...plan, id: 'plan-facts-3', status: 'active' }]).execute();
    await testDb.db.insertInto('outbound_messages').values({ idempotency_key: 'facts-confirmation', conversation_id: 'conv-facts-b', body: 'x', status: 'accepted', kind: 'confirmation' }).execute();
    expect(await readDraftFacts(testDb.db, { conversationId: 'conv-facts-b', count: 1, tenantId: TENANT, phone: '+15550777002' })).toMatchObject({ brokenPlans: 2, textedBefore: false });

    await testDb.db.insertInto('outbound_messages').values({ idempotency_key: 'facts-reply', conversation_id: 'conv-facts-b', body: 'y', status: 'accepted', kind: 'reply' }).execute();
    const facts = await readDraftFacts(testDb.db, { conversationId: 'conv-facts-b', count: 1, tenantId: TENANT, phone: '+15550777002' });
    expect(facts).toMatchObject({ brokenPlans: 2, textedBefore: true });
    expect(facts).toEqual(await singly('conv-facts-b', 1, '+15550777002'));
    // Another number of the tenant was not texted.
    expect((await readDraftFacts(testDb.db, { conversationId: 'conv-facts-a', count: 1, tenantId: TENANT, phone: PHONE })).textedBefore).toBe(false);
  });
});
