import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HISTORY_ROWS, readDraftFacts, type DraftFactsWanted } from '../../src/db/draft-facts.repository.js';
import { MAX_TEXTS_PER_REPLY, newestInbound } from '../../src/db/messages.repository.js';
import { countBrokenPlans } from '../../src/db/payment-plans.repository.js';
import { tenantTextedNumber } from '../../src/adapters/sms-delivery.js';
import type { Runtime } from '../../src/runtime/apply-event.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testRuntime } from '../helpers/runtime.js';

/**
 * The facts a draft reads in one statement are the facts the three single readers give, whatever the
 * conversation holds: no texts or many, a plan broken or not, a number texted before or not; and several
 * drafts' facts read in one statement are each the facts read alone.
 */

const TENANT = 'tenant-facts';
const PHONE = '+15550777001';
let testDb: TestDatabase;
let runtime: Runtime | undefined;
beforeAll(async () => void (testDb = await createTestDatabase()));
afterAll(() => testDb.drop());

/** A debtor's text, written as the API writes it (the conversation is created by the first). */
async function text(conversationId: string, phone: string, i: number, tenantId = TENANT) {
  runtime ??= testRuntime(testDb.db);
  await runtime.apply({
    conversationId,
    event: { type: 'sms.received', text: `text ${i} of ${conversationId}`, messageId: `${conversationId}-m${i}`, at: new Date().toISOString() },
    idempotencyKey: `${conversationId}-k${i}`,
    actor: 'service:test',
    create: { conversationId, tenantId, phone },
    ifNotAccepted: 'record',
  });
}

/** A text of ours as sms-delivery.ts records it: `sending` until the SMS Agent accepts it. */
async function sent(conversationId: string, key: string, status: 'sending' | 'accepted' = 'accepted', at?: Date) {
  await testDb.db
    .insertInto('outbound_messages')
    .values({ idempotency_key: key, conversation_id: conversationId, body: `reply ${key}`, status, kind: 'reply', sms_agent_id: status === 'accepted' ? `sms-${key}` : null, ...(at && { updated_at: at }) })
    .execute();
}

/** One draft's facts, read alone (a batch of one). */
const factsOf = async (wanted: DraftFactsWanted) => (await readDraftFacts(testDb.db, [wanted]))[0]!;

const thread = async (tenantId: string, phone: string, conversationId: string) =>
  (await factsOf({ conversationId, count: 1, tenantId, phone })).history.map((message) => `${message.direction}: ${message.content}`);

const singly = async (conversationId: string, count: number, phone: string) => ({
  unanswered: (await newestInbound(testDb.db, [{ conversationId, count }])).get(conversationId)!,
  brokenPlans: await countBrokenPlans(testDb.db, TENANT),
  textedBefore: await tenantTextedNumber(testDb.db, TENANT, phone),
});

describe('the facts of a draft, in one statement', () => {
  it('when the conversation has no texts, some, or more than a reply reads, then its facts are the single readers\' facts', async () => {
    for (let i = 0; i < 3; i++) await text('conv-facts-a', PHONE, i);
    for (const count of [0, 1, 3, MAX_TEXTS_PER_REPLY + 5]) {
      const facts = await factsOf({ conversationId: 'conv-facts-a', count, tenantId: TENANT, phone: PHONE });
      expect(facts).toEqual({ ...(await singly('conv-facts-a', count, PHONE)), history: facts.history });
    }
    const three = await factsOf({ conversationId: 'conv-facts-a', count: 3, tenantId: TENANT, phone: PHONE });
    expect(three.unanswered.map((message) => message.messageId)).toEqual(['conv-facts-a-k0', 'conv-facts-a-k1', 'conv-facts-a-k2']);
    expect(three).toMatchObject({ brokenPlans: 0, textedBefore: false });
  });

  it('when the tenant has broken plans and our texts reached the number (a confirmation does not count), then both facts say so', async () => {
    await text('conv-facts-b', '+15550777002', 0);
    const plan = { conversation_id: 'conv-facts-b', tenant_id: TENANT, frequency: 'weekly', instalment_cents: 1000, instalment_count: 3, down_payment_cents: 0, total_cents: 3000, paid_cents: 0, missed: 2, time_zone: 'UTC' };
    await testDb.db.insertInto('payment_plans').values([{ ...plan, id: 'plan-facts-1', status: 'broken' }, { ...plan, id: 'plan-facts-2', status: 'broken' }, { ...plan, id: 'plan-facts-3', status: 'active' }]).execute();
    await testDb.db.insertInto('outbound_messages').values({ idempotency_key: 'facts-confirmation', conversation_id: 'conv-facts-b', body: 'x', status: 'accepted', kind: 'confirmation' }).execute();
    expect(await factsOf({ conversationId: 'conv-facts-b', count: 1, tenantId: TENANT, phone: '+15550777002' })).toMatchObject({ brokenPlans: 2, textedBefore: false });

    await testDb.db.insertInto('outbound_messages').values({ idempotency_key: 'facts-reply', conversation_id: 'conv-facts-b', body: 'y', status: 'accepted', kind: 'reply' }).execute();
    const facts = await factsOf({ conversationId: 'conv-facts-b', count: 1, tenantId: TENANT, phone: '+15550777002' });
    expect(facts).toMatchObject({ brokenPlans: 2, textedBefore: true });
    expect(facts).toEqual({ ...(await singly('conv-facts-b', 1, '+15550777002')), history: facts.history });
    // Another number of the tenant was not texted.
    expect((await factsOf({ conversationId: 'conv-facts-a', count: 1, tenantId: TENANT, phone: PHONE })).textedBefore).toBe(false);
  });

  it('when two tenants text one number, then each reads only its own texts with it, across its conversations, oldest first, and only accepted replies of ours', async () => {
    const phone = '+15550777003';
    await text('conv-facts-c1', phone, 0);
    await sent('conv-facts-c1', 'c1-r0');
    await text('conv-facts-other', phone, 0, 'tenant-facts-other');
    await sent('conv-facts-other', 'other-r0');
    await text('conv-facts-c1', phone, 1);
    await sent('conv-facts-c1', 'c1-r1', 'sending'); // its outcome unknown: not a text the debtor got
    // A later conversation of the same tenant with the same number continues the thread.
    await text('conv-facts-c2', phone, 0);
    expect(await thread(TENANT, phone, 'conv-facts-c2')).toEqual([
      'inbound: text 0 of conv-facts-c1',
      'outbound: reply c1-r0',
      'inbound: text 1 of conv-facts-c1',
      'inbound: text 0 of conv-facts-c2',
    ]);
    expect(await thread('tenant-facts-other', phone, 'conv-facts-other')).toEqual(['inbound: text 0 of conv-facts-other', 'outbound: reply other-r0']);
    // The drafter tells the texts it answers from the earlier ones by their ids.
    const facts = await factsOf({ conversationId: 'conv-facts-c2', count: 1, tenantId: TENANT, phone });
    expect(facts.history.at(-1)).toMatchObject({ id: facts.unanswered[0]!.messageId, createdAt: facts.unanswered[0]!.at });
  });

  it('when the thread is longer than a draft reads, then the newest rows are read, oldest first', async () => {
    const phone = '+15550777004';
    await text('conv-facts-d', phone, 0);
    const start = Date.now() + 60_000;
    for (let i = 0; i < HISTORY_ROWS + 5; i++) await sent('conv-facts-d', `d-r${String(i).padStart(3, '0')}`, 'accepted', new Date(start + i * 1_000));
    const history = await thread(TENANT, phone, 'conv-facts-d');
    expect(history).toHaveLength(HISTORY_ROWS);
    expect(history[0]).toBe('outbound: reply d-r005');
    expect(history.at(-1)).toBe(`outbound: reply d-r${String(HISTORY_ROWS + 4).padStart(3, '0')}`);
  });

  it("when several drafts' facts are read in one statement (a burst's drafting jobs), then each draft gets the facts it gets alone, in the order asked, another tenant's and an empty conversation's included", async () => {
    const wanted: DraftFactsWanted[] = [
      { conversationId: 'conv-facts-c2', count: 1, tenantId: TENANT, phone: '+15550777003' },
      { conversationId: 'conv-facts-other', count: 1, tenantId: 'tenant-facts-other', phone: '+15550777003' },
      { conversationId: 'conv-facts-a', count: 3, tenantId: TENANT, phone: PHONE },
      { conversationId: 'conv-facts-none', count: 2, tenantId: 'tenant-facts-none', phone: '+15550777099' },
      { conversationId: 'conv-facts-c2', count: 1, tenantId: TENANT, phone: '+15550777003' },
    ];
    const alone = [];
    for (const one of wanted) alone.push(await factsOf(one));
    expect(alone[0]!.history.length).toBeGreaterThan(0);
    expect(alone[3]).toEqual({ unanswered: [], brokenPlans: 0, textedBefore: false, history: [] });
    expect(await readDraftFacts(testDb.db, wanted)).toEqual(alone);
  });
});
