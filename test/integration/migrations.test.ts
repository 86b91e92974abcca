import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

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
