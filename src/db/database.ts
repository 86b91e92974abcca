import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import pg from 'pg';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Repositories take either: transactions are opened at the edge and passed down. */
export type DbOrTrx = Db | Trx;

// bigint (int8) and numeric come back as strings by default; counts are small, ids stay strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export function createPool(
  connectionString: string,
  max = 10,
  applicationName = 'orchestrator',
  onIdleError: (error: Error) => void = (error) => process.emitWarning(`idle database client failed: ${error.message}`),
) {
  const pool = new pg.Pool({ connectionString, max, application_name: applicationName });
  // An idle client that loses its server emits 'error'; without a listener that would end the process.
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', onIdleError));
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Forward-only migrations, in file-name order. Safe to run from several replicas at once (kysely locks). */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
