import pg from 'pg';
import { createPool } from '../../src/db/database.js';

/**
 * The plans PostgreSQL used for the statements `work` runs on a one-connection pool: auto_explain hands each
 * to the session as a NOTICE. For tests that a statement stays index-backed when its table is large.
 */
export async function plansOf(url: string, work: (pool: pg.Pool) => Promise<unknown>): Promise<string[]> {
  const pool = createPool(url, { max: 1 });
  const plans: string[] = [];
  try {
    const client = await pool.connect();
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    await client.query(`load 'auto_explain'`);
    await client.query('set auto_explain.log_min_duration = 0; set auto_explain.log_level = notice');
    client.release();
    await work(pool);
  } finally {
    await pool.end();
  }
  return plans;
}
