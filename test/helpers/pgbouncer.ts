import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './child-process.js';

/**
 * A real pgbouncer (Debian's; `npm test` installs it) in front of a PostgreSQL server, for the tests of what
 * the service does behind a pooler. Its own ini in a temp dir, no unix socket, `auth_type = any` (it logs in
 * upstream as the server URL's user). It refuses to run as root: as root it runs as the OS user `postgres`.
 */
export interface Pgbouncer {
  /** The same database and credentials as `databaseUrl`, through the pooler. */
  url(databaseUrl: string): string;
  stop(): Promise<void>;
}

export const PGBOUNCER = '/usr/sbin/pgbouncer';

export async function startPgbouncer(options: { serverUrl: string; poolMode: 'session' | 'transaction'; poolSize?: number }): Promise<Pgbouncer> {
  const server = new URL(options.serverUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), `orchestrator-pgbouncer-${options.poolMode}-`));
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const ini = path.join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port} user=${decodeURIComponent(server.username)} password=${decodeURIComponent(server.password)}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.poolSize ?? 20}`,
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  chmodSync(ini, 0o644);
  const child: ChildProcess = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, ini], { stdio: 'ignore' })
    : spawn(PGBOUNCER, [ini], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = (databaseUrl: string) => {
    const through = new URL(databaseUrl);
    through.hostname = '127.0.0.1';
    through.port = String(port);
    return through.toString();
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(url(options.serverUrl), () => child.exitCode !== null, () => readLog(dir));
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

async function waitUntilServing(url: string, exited: () => boolean, log: () => string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      if (exited() || Date.now() > deadline) throw new Error(`pgbouncer did not start (${(error as Error).message}): ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
