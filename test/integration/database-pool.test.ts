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

  it('when the pool keeps sessions open, then after a quiet spell past the idle timeout they are still there, their prepared statements with them; the others close', async () => {
    const pool = createPool(testDb.url, { max: 4, idleTimeoutMs: 100, keepOpen: 2, prepareStatements: true });
    const db = createDb(pool);
    try {
      const clients = await Promise.all([0, 1, 2, 3].map(() => pool.connect()));
      const backends = new Set<number>();
      for (const client of clients) {
        const { rows } = await client.query<{ pid: number }>({ name: 'whoami', text: 'select pg_backend_pid() as pid' });
        backends.add(rows[0]!.pid);
      }
      for (const client of clients) client.release();
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(pool.totalCount).toBe(2);
      // The sessions kept are ones that served before, statement prepared: no new connection, no new plan.
      const client = await pool.connect();
      try {
        expect(backends.has((await client.query<{ pid: number }>({ name: 'whoami', text: 'select pg_backend_pid() as pid' })).rows[0]!.pid)).toBe(true);
        const { rows } = await client.query<{ name: string }>("select name from pg_prepared_statements where name = 'whoami'");
        expect(rows).toHaveLength(1);
      } finally {
        client.release();
      }
    } finally {
      await db.destroy();
    }
  });
});
