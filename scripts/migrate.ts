import { loadConfig } from '../src/config.js';
import { createDb, createPool } from '../src/db/database.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';

/** `npm run migrate`: our migrations, graphile-worker's schema and the service role's grants, on DATABASE_DIRECT_URL (else DATABASE_URL) or the embedded database. */
const config = loadConfig();
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
// Migrations take locks and run DDL: on the direct connection when DATABASE_URL is a transaction pooler.
const pool = createPool(config.databaseDirectUrl ?? embedded!.url, { max: 2, applicationName: 'orchestrator-migrate', caCert: config.databaseCaCert });
const db = createDb(pool);
try {
  const applied = await migrateDatabase(db, pool);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
} finally {
  await db.destroy();
  await embedded?.stop();
}
