import { runCommand, withCommandDatabase } from '../src/command.js';
import { migrateDatabase } from '../src/db/migrate.js';

/**
 * `npm run migrate` (in the image: `node dist/scripts/migrate.js`): our migrations, graphile-worker's schema
 * and the service role's grants, on DATABASE_DIRECT_URL (else DATABASE_URL) or the embedded database (the
 * running service's, or one started for this). A release step runs it as the tables' owner before the new version starts.
 */
await runCommand('migrate', (config) =>
  withCommandDatabase(config, 'migrate', async (db, pool) => {
    const applied = await migrateDatabase(db, pool);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
  }, { direct: true }),
);
