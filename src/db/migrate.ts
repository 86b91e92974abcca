import pg from 'pg';
import { installJobQueue } from './job-queue-schema.js';
import { grantAppRole } from './app-role.js';
import { migrateToLatest, type Db } from './database.js';

/** Held, for the session's life, by the process that migrates: see migrateDatabase. */
const MIGRATE_LOCK = 7_201_317;

/**
 * Everything a database needs before the service runs on it, in order: our migrations, graphile-worker's
 * schema, then the service role's grants over both. Start-up, `npm run migrate` and the tests' template
 * share it. As the service role (not the owner) it checks that nothing is pending and changes nothing.
 *
 * One process at a time: replicas start together, and the steps change catalog rows (a function's definition
 * and its grants) that two sessions cannot change at once ("tuple concurrently updated", and that replica does
 * not start). This is the steps' only lock (kysely's migrator keeps its own): they are run from here alone. It is
 * a session's of its own, not one of the pool's (the steps need those, and a pool may have one), over the direct
 * connection every caller migrates on; it goes with the session, also on a crash.
 */
export async function migrateDatabase(db: Db, pool: pg.Pool): Promise<string[]> {
  const session = new pg.Client(pool.options);
  session.on('error', () => {}); // a session lost while the steps run: they fail on their own connections
  await session.connect();
  try {
    await session.query('select pg_advisory_lock($1)', [MIGRATE_LOCK]);
    const applied = await migrateToLatest(db);
    await installJobQueue(pool);
    await grantAppRole(db);
    return applied;
  } finally {
    await session.end().catch(() => {});
  }
}
