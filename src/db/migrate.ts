import type pg from 'pg';
import { installJobQueue } from './job-queue-schema.js';
import { grantAppRole } from './app-role.js';
import { migrateToLatest, type Db } from './database.js';

/**
 * Everything a database needs before the service runs on it, in order: our migrations, graphile-worker's
 * schema, then the service role's grants over both. Start-up, `npm run migrate` and the tests' template
 * share it. As the service role (not the owner) it checks that nothing is pending and changes nothing.
 */
export async function migrateDatabase(db: Db, pool: pg.Pool): Promise<string[]> {
  const applied = await migrateToLatest(db);
  await installJobQueue(pool);
  await grantAppRole(db);
  return applied;
}
