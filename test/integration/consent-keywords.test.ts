import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, createPool } from '../../src/db/database.js';
import { holdNumberThenOptedOut, isOptedOut } from '../../src/db/opt-outs.repository.js';
import { ALL_TENANTS } from '../../src/db/tenant-scope.js';
import { DEFAULT_COMPLIANCE } from '../../src/policies/compliance.js';
import { receiveSms } from '../../src/use-cases/receive-sms.js';
import { holdUntilReleased } from '../helpers/hold.js';
import { testRuntime } from '../helpers/runtime.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * Consent keywords (src/use-cases/consent-keywords.ts) while a hand-off holds the number: recording an opt-out
 * waits for the hand-off, and what waits must not hold the pool.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const caller = { subject: 'sms-agent', role: 'service', scope: ALL_TENANTS };
const text = (conversationId: string, phone: string, words: string, key: string) => ({
  conversationId,
  text: words,
  messageId: key,
  idempotencyKey: key,
  sender: { tenantId: 'tenant-ck', phone },
});

/** A hand-off to `phone` in progress (as the sender's unfenced hand-off holds it) until `release`. */
function holdNumber(phone: string) {
  return holdUntilReleased((holding) =>
    db.db.transaction().execute(async (trx) => {
      await holdNumberThenOptedOut(trx, 'tenant-ck', phone);
      await holding();
    }),
  );
}

describe('consent keywords during a hand-off', () => {
  it("when a STOP and the SMS Agent's retries of it wait for a hand-off to the number, then one waits on a connection and the rest in memory, so everyone else's texts still apply; the opt-out is recorded once it ends", async () => {
    // A small pool that gives up quickly: each retry waiting for the number on a connection of its own would take it all.
    const pool = createPool(db.url, { max: 4, connectionTimeoutMs: 1_500 });
    const small = createDb(pool);
    const deps = { db: small, runtime: testRuntime(small, { rememberConversations: 100 }), compliance: DEFAULT_COMPLIANCE, clock: Date.now };
    const phone = '+15550301001';
    let release = () => {};
    try {
      await receiveSms(deps, caller, text('ck-other', '+15550301002', 'Hi', 'ck-other-1'));
      const hold = await holdNumber(phone);
      release = hold.release;
      // The STOP, then the agent sending it again while it has no answer.
      const waiting: Array<Promise<unknown>> = [];
      for (let n = 0; n < 6; n += 1) {
        waiting.push(receiveSms(deps, caller, text('ck-stop', phone, 'STOP', 'ck-stop-1')));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Only the first waits for the number on a connection: the retries wait in memory behind it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { rows: onLock } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock(orchestrator.opt_out_lock_key%'`,
      );
      expect(onLock[0]!.n).toBe(1);
      // Someone else's text still finds a connection.
      expect(await receiveSms(deps, caller, text('ck-other', '+15550301002', 'Hello again', 'ck-other-2'))).toMatchObject({ outcome: 'applied' });
      expect(await isOptedOut(db.db, 'tenant-ck', phone)).toBe(false); // recording waits for the hand-off
      release();
      await hold.done;
      const results = (await Promise.all(waiting)) as Array<{ duplicate: boolean }>;
      expect(results.map((result) => result.duplicate)).toEqual([false, true, true, true, true, true]);
      expect(await isOptedOut(db.db, 'tenant-ck', phone)).toBe(true);
      const rows = await db.db.selectFrom('opt_outs').select('conversation_id').where('phone', '=', phone).execute();
      expect(rows).toEqual([{ conversation_id: 'ck-stop' }]);
    } finally {
      release(); // a failed expectation must not leave the hand-off holding a connection
      await small.destroy();
    }
  });
});
