import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { createDb, createPool } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

describe('database pool', () => {
  it('when every connection is taken for longer than the timeout, then a query fails fast as a retryable 503', async () => {
    const pool = createPool(testDb.url, { max: 1, connectionTimeoutMs: 200 });
    const db = createDb(pool);
    const held = await pool.connect();
    try {
      await expect(sql`select 1`.execute(db)).rejects.toMatchObject({ code: 'database_unavailable', status: 503, retryable: true });
    } finally {
      held.release();
    }
    await expect(sql<{ one: number }>`select 1 as one`.execute(db)).resolves.toMatchObject({ rows: [{ one: 1 }] });
    await db.destroy();
  });
});
