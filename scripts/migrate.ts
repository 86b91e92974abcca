import { loadConfig } from '../src/config.js';
import { createDb, createPool, migrateToLatest } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { installJobQueue } from '../src/runtime/job-queue.js';

/** `npm run migrate`: our migrations and graphile-worker's schema, on DATABASE_URL or the embedded database. */
const config = loadConfig();
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
const pool = createPool(config.databaseUrl ?? embedded!.url, { max: 2, applicationName: 'orchestrator-migrate' });
const db = createDb(pool);
try {
  const applied = await migrateToLatest(db);
  await installJobQueue(pool);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
} finally {
  await db.destroy();
  await embedded?.stop();
}
