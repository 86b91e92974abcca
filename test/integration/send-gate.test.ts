import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { findContactPreference, recordContactPreference } from '../../src/db/contact-preferences.repository.js';
import { checkFrequencyCap, checkSendTime, readSendFacts } from '../../src/adapters/send-gate.js';
import { sql } from 'kysely';
import { createDb } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { plansOf } from '../helpers/plans.js';

/** The send-time gate's records on real Postgres: deferrals are rows, caps count unsolicited texts only. */

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

const NOW = Date.parse('2026-12-02T18:00:00Z'); // noon in Chicago
const HOUR = 3_600_000;

async function conversation(id: string, phone: string, tenant = 't') {
  await testDb.db
    .insertInto('conversations')
    .values({ id, tenant_id: tenant, phone, state: 'planAgreed', snapshot: JSON.stringify({ value: 'planAgreed', status: 'active', context: {} }), live_effects: JSON.stringify({ invokes: {}, timers: {} }), machine_version: 'x', version: 1 })
    .execute();
}

async function sentEarlier(conversationId: string, kind: 'reply' | 'unsolicited', hoursAgo: number, n: number) {
  await testDb.db
    .insertInto('outbound_messages')
    .values({ idempotency_key: `${conversationId}:${kind}:${hoursAgo}:${n}`, conversation_id: conversationId, body: 'x', status: 'accepted', kind, first_attempt_at: new Date(NOW - hoursAgo * HOUR) })
    .execute();
}

/** What the gate reads about a number before it decides (one statement in production, as here). */
const facts = (phone: string, now = NOW, tenant = 't') => readSendFacts(testDb.db, tenant, phone, now);

describe('frequency caps', () => {
  it('when three unsolicited texts went out today, then a fourth waits until the oldest is a day old; replies do not count', async () => {
    await conversation('cap-1', '+15550700001');
    for (const [hoursAgo, n] of [[20, 1], [10, 2], [2, 3]]) await sentEarlier('cap-1', 'unsolicited', hoursAgo, n);
    for (let n = 0; n < 5; n += 1) await sentEarlier('cap-1', 'reply', 1, n);
    const decisions: string[] = [];
    const verdict = await checkFrequencyCap(
      { db: testDb.db, clock: () => NOW, onDecision: (rule, decision) => decisions.push(`${rule}:${decision}`) },
      { conversationId: 'cap-1', phone: '+15550700001' },
      await facts('+15550700001'),
    );
    expect(verdict).toMatchObject({ allowed: false, notBefore: new Date(NOW - 20 * HOUR + 24 * HOUR + 1_000) });
    expect(decisions).toEqual(['frequency_cap:deferred']);
    const rows = await testDb.db.selectFrom('compliance_decisions').selectAll().where('conversation_id', '=', 'cap-1').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ rule: 'frequency_cap', decision: 'deferred' });
  });

  it('when the stricter profile counts a week, then the number\u2019s other conversations count too', async () => {
    await conversation('cap-2a', '+15550700002');
    await conversation('cap-2b', '+15550700002');
    await sentEarlier('cap-2a', 'unsolicited', 100, 1);
    await sentEarlier('cap-2b', 'unsolicited', 50, 1);
    const caps = { unsolicitedPerDay: 2, unsolicitedPerWeek: 2, repliesPerDay: 10 };
    const verdict = await checkFrequencyCap({ db: testDb.db, clock: () => NOW, caps }, { conversationId: 'cap-2b', phone: '+15550700002' }, await facts('+15550700002'));
    expect(verdict.allowed).toBe(false);
    expect(await checkFrequencyCap({ db: testDb.db, clock: () => NOW, caps: { unsolicitedPerDay: 2, unsolicitedPerWeek: 3, repliesPerDay: 10 } }, { conversationId: 'cap-2b', phone: '+15550700002' }, await facts('+15550700002'))).toMatchObject({ allowed: true });
  });
});

describe('the reply cap', () => {
  it('when ten replies went out today, then the eleventh waits; unsolicited texts do not count toward it', async () => {
    await conversation('cap-3', '+15550700003');
    for (let n = 0; n < 10; n += 1) await sentEarlier('cap-3', 'reply', 12 - n, n);
    await sentEarlier('cap-3', 'unsolicited', 1, 99);
    const verdict = await checkFrequencyCap({ db: testDb.db, clock: () => NOW }, { conversationId: 'cap-3', phone: '+15550700003', kind: 'reply' }, await facts('+15550700003'));
    expect(verdict).toMatchObject({ allowed: false, notBefore: new Date(NOW - 12 * HOUR + 24 * HOUR + 1_000) });
    const nine = await checkFrequencyCap({ db: testDb.db, clock: () => NOW, caps: { unsolicitedPerDay: 3, unsolicitedPerWeek: 7, repliesPerDay: 11 } }, { conversationId: 'cap-3', phone: '+15550700003', kind: 'reply' }, await facts('+15550700003'));
    expect(nine.allowed).toBe(true);
  });
});

describe('contact preferences at the gate', () => {
  it('when the debtor asked for texts only after 6pm, then the gate holds a noon text until 18:00 their time; a later statement adds to it', async () => {
    await conversation('pref-1', '+13125550101');
    await recordContactPreference(testDb.db, '+13125550101', 'pref-1', { earliestHour: 18, latestHour: null, notAtWork: false });
    const noon = Date.parse('2026-12-02T18:00:00Z');
    const verdict = await checkSendTime({ db: testDb.db, clock: () => noon }, { conversationId: 'pref-1', phone: '+13125550101', timeZone: 'America/Chicago', inReplyTo: null }, await facts('+13125550101', noon));
    expect(verdict).toMatchObject({ allowed: false, detail: 'deferred until 2026-12-02 18:00 America/Chicago' });
    await recordContactPreference(testDb.db, '+13125550101', 'pref-1', { earliestHour: null, latestHour: 20, notAtWork: true });
    expect(await findContactPreference(testDb.db, 't', '+13125550101')).toEqual({ earliestHour: 18, latestHour: 20, notAtWork: true });
  });
});

describe('two tenants texting one number', () => {
  it("when tenant A used up the number's caps and the debtor told A when to text, then tenant B's texts are held back by neither, and B sees neither", async () => {
    const phone = '+15550700009';
    await conversation('two-a', phone, 'tenant-two-a');
    await conversation('two-b', phone, 'tenant-two-b');
    for (const [hoursAgo, n] of [[20, 1], [10, 2], [2, 3]]) await sentEarlier('two-a', 'unsolicited', hoursAgo, n);
    await recordContactPreference(testDb.db, phone, 'two-a', { earliestHour: 18, latestHour: null, notAtWork: true });
    const gate = { db: testDb.db, clock: () => NOW };

    const forA = await facts(phone, NOW, 'tenant-two-a');
    expect(forA.sent.unsolicited).toHaveLength(3);
    expect(forA.preference).toEqual({ earliestHour: 18, latestHour: null, notAtWork: true });
    expect((await checkFrequencyCap(gate, { conversationId: 'two-a', phone }, forA)).allowed).toBe(false);

    // The same when the gate knows only the conversation (as the sender does).
    for (const forB of [await facts(phone, NOW, 'tenant-two-b'), await readSendFacts(testDb.db, { conversationId: 'two-b' }, phone, NOW)]) {
      expect(forB).toEqual({ optedOut: false, preference: null, sent: { unsolicited: [], reply: [] } });
      expect((await checkFrequencyCap(gate, { conversationId: 'two-b', phone }, forB)).allowed).toBe(true);
      expect(await checkSendTime(gate, { conversationId: 'two-b', phone, timeZone: 'America/Chicago', inReplyTo: null }, forB)).toMatchObject({ allowed: true });
    }
    expect(await findContactPreference(testDb.db, 'tenant-two-b', phone)).toBeNull();
  });
});

describe('quiet hours at the gate', () => {
  it('when a text falls outside calling hours, then the deferral is a recorded decision naming the time and zone', async () => {
    await conversation('quiet-1', '+13125550100');
    const night = Date.parse('2026-12-02T04:00:00Z'); // 22:00 in Chicago; a 312 number is in Chicago
    const verdict = await checkSendTime({ db: testDb.db, clock: () => night }, { conversationId: 'quiet-1', phone: '+13125550100', timeZone: null, inReplyTo: null }, await facts('+13125550100', night));
    expect(verdict).toMatchObject({ allowed: false, detail: 'deferred until 2026-12-02 08:00 America/Chicago' });
  });
});

describe('the gate read at scale', () => {
  it('finds the tenant\u2019s texts to a number through an index: not by scanning every tenant\u2019s conversations', async () => {
    // 20,000 conversations, each of its own tenant (as debtors are), one of them to the number.
    await sql`insert into conversations (id, tenant_id, phone, state, snapshot, machine_version, version)
              select 'scale-' || g, 'tenant-scale-' || g, '+1555' || lpad(g::text, 7, '0'), 'awaitingReply', '{}'::jsonb, 'x', 1
                from generate_series(1, 20000) g`.execute(testDb.db);
    await sql`analyze conversations`.execute(testDb.db);
    const plans = await plansOf(testDb.url, (pool) => readSendFacts(createDb(pool), 'tenant-scale-17', '+15550000017', NOW));
    const plan = plans.find((text) => text.includes('outbound_messages'));
    expect(plan).toMatch(/Index (Only )?Scan using conversations_(tenant_)?phone_idx on conversations/);
    expect(plan).not.toMatch(/Seq Scan on conversations/);
  });
});
