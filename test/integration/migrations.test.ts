import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createDb, createPool } from '../../src/db/database.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { adoptDefaultConversations, up } from '../../migrations/202612041010_default_conversation_per_phone.js';
import { up as scopePreferencesByTenant } from '../../migrations/202612059101_contact_preferences_per_tenant.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

describe('migrations', () => {
  it('when migrated, then every table of ours has row-level security enabled', async () => {
    const { rows } = await sql<{ relname: string; relrowsecurity: boolean }>`
      select relname, relrowsecurity from pg_class
      where relnamespace = 'public'::regnamespace and relkind = 'r'`.execute(testDb.db);
    expect(rows.length).toBeGreaterThanOrEqual(11);
    expect(rows.filter((row) => !row.relrowsecurity)).toEqual([]);
  });
});

describe('several processes starting at once', () => {
  it('when four processes migrate one database at once, fresh and then again, then each start succeeds: no two change the same catalog row together', async () => {
    const database = await createEmptyDatabase('migrate_at_once');
    const processes = Array.from({ length: 4 }, () => {
      const pool = createPool(database.url, { max: 3 });
      return { pool, db: createDb(pool) };
    });
    try {
      // Each round is a deploy: every replica runs the migrations, the queue's helpers and the grants as it starts.
      for (let round = 0; round < 12; round += 1) {
        const outcomes = await Promise.allSettled(processes.map(({ db, pool }) => migrateDatabase(db, pool)));
        expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => String((outcome as PromiseRejectedResult).reason))).toEqual([]);
      }
    } finally {
      await Promise.all(processes.map(({ db }) => db.destroy()));
      await database.drop();
    }
  }, 120_000);
});

describe('default conversations per number (202612041010)', () => {
  const hex = (n: number) => `conv-${String(n).padStart(24, '0')}`;
  const row = (id: string, tenant: string, phone: string, createdAt: string) => ({
    id,
    tenant_id: tenant,
    phone,
    state: 'awaitingReply',
    snapshot: JSON.stringify({ status: 'active', value: 'awaitingReply', context: {} }),
    machine_version: 'old',
    version: 1,
    created_at: createdAt,
  });

  it('when the database holds what earlier releases wrote, duplicates of the rotation bug included, then the oldest derived one per tenant and number becomes the default and the migration does not fail', async () => {
    const db = testDb.db;
    // The database as the release before this migration left it.
    await sql`alter table conversations drop column default_for_phone`.execute(db);
    await db
      .insertInto('conversations')
      .values([
        row(hex(1), 'tenant-m1', '+15550004441', '2026-11-01T00:00:00Z'),
        // The rotation bug's second conversation for the same debtor, and the number typed another way.
        row(hex(2), 'tenant-m1', '+1 (555) 000-4441', '2026-11-02T00:00:00Z'),
        row(hex(3), 'tenant-m2', '+15550004441', '2026-11-03T00:00:00Z'),
        // Before numbers were normalised: stored as typed.
        row(hex(4), 'tenant-m1', '555-000-4442', '2026-11-04T00:00:00Z'),
        // Named by a caller: not a default conversation.
        row('sim-conv-4443', 'tenant-m1', '+15550004443', '2026-11-05T00:00:00Z'),
        // Not a number at all (before numbers were checked): no text without an id can reach it.
        row(hex(5), 'tenant-m1', '(((((', '2026-11-06T00:00:00Z'),
      ] as never)
      .execute();
    await up(db);
    const rows = await db.selectFrom('conversations').select(['id', 'default_for_phone']).where('tenant_id', 'in', ['tenant-m1', 'tenant-m2']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: hex(1), default_for_phone: '+15550004441' },
      { id: hex(2), default_for_phone: null },
      { id: hex(3), default_for_phone: '+15550004441' },
      { id: hex(4), default_for_phone: '+15550004442' },
      { id: hex(5), default_for_phone: null },
      { id: 'sim-conv-4443', default_for_phone: null },
    ]);
    expect(await adoptDefaultConversations(db)).toBe(0);
    // One default conversation per tenant and number, enforced.
    await expect(
      db
        .insertInto('conversations')
        .values({ ...row('conv-new', 'tenant-m1', '+15550004441', '2026-12-04T00:00:00Z'), default_for_phone: '+15550004441' } as never)
        .execute(),
    ).rejects.toThrow(/conversations_default_per_phone/);
  });

  it('when earlier releases kept contact preferences per number, then each gets the tenant of the conversation it was stated in; one whose conversation is gone stops the migration and changes nothing', async () => {
    const db = testDb.db;
    // The table as the release before this migration left it: one row per number.
    await sql`alter table contact_preferences drop constraint contact_preferences_pkey`.execute(db);
    await sql`alter table contact_preferences drop column tenant_id`.execute(db);
    await sql`alter table contact_preferences add primary key (phone)`.execute(db);
    await db.insertInto('conversations').values([row('pref-m1', 'tenant-p1', '+15550004451', '2026-11-01T00:00:00Z'), row('pref-m2', 'tenant-p2', '+15550004452', '2026-11-02T00:00:00Z')] as never).execute();
    const stated = (phone: string, conversationId: string) => ({ phone, conversation_id: conversationId, earliest_hour: 18, not_at_work: false });
    await db.insertInto('contact_preferences').values([stated('+15550004451', 'pref-m1'), stated('+15550004452', 'pref-m2'), stated('+15550004453', 'pref-gone')] as never).execute();

    await expect(db.transaction().execute((trx) => scopePreferencesByTenant(trx))).rejects.toThrow(/give each its tenant_id by hand/);
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'contact_preferences'`.execute(db);
    expect(columns.rows.map((column) => column.column_name)).not.toContain('tenant_id');

    await db.deleteFrom('contact_preferences').where('conversation_id', '=', 'pref-gone').execute();
    await scopePreferencesByTenant(db);
    const rows = await db.selectFrom('contact_preferences').select(['tenant_id', 'phone']).orderBy('phone').execute();
    expect(rows).toEqual([
      { tenant_id: 'tenant-p1', phone: '+15550004451' },
      { tenant_id: 'tenant-p2', phone: '+15550004452' },
    ]);
    // Another tenant may now keep its own statement for the same number.
    await db.insertInto('contact_preferences').values({ ...stated('+15550004451', 'pref-m2'), tenant_id: 'tenant-p2' } as never).execute();
  });
});
