/**
 * The real service as separate OS processes on one database: API processes (`src/main.ts`, RUN_WORKER=0,
 * one port each) and worker processes (`src/worker-main.ts`), run by this Node through tsx's loader
 * (`node --import tsx`, so the pid we hold is the service's own, not a launcher's, and SIGKILL reaches it).
 *
 * Ready means: an API answers `GET /health` with 200; a worker has its liveness session in
 * `pg_stat_activity` (application_name `orchestrator-worker:…`, docs/architecture.md "Dead workers").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { freePort } from './embedded-pg.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = { api: 'src/main.ts', worker: 'src/worker-main.ts' } as const;
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

export type Role = keyof typeof ENTRY;

export interface ServiceProcess {
  role: Role;
  /** `api-1`, `worker-2`… */
  name: string;
  /** Base URL of an API process (its port is kept across restarts); null for a worker. */
  url: string | null;
  pid(): number;
  /** Starts the process again after it was killed, and waits until it is ready; returns the ms that took. */
  restart(): Promise<number>;
  kill9(): void;
}

export interface Fleet {
  apis: ServiceProcess[];
  workers: ServiceProcess[];
  /** Processes that exited without being told to (their stderr's tail), for the report. */
  unexpectedExits: string[];
  startWorkers(count: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `apis` API processes (the first alone, so that it runs the migrations; the rest together) and no
 * workers: a bench seeds through the API first, then calls `startWorkers`.
 */
export async function startFleet(options: { apis: number; env: Record<string, string>; admin: pg.Pool }): Promise<Fleet> {
  type Launched = ServiceProcess & { ready: Promise<void>; alive(): boolean; stop(): Promise<void> };
  const all: Launched[] = [];
  const liveWorkers = () => all.filter((process) => process.role === 'worker' && process.alive()).length;
  const unexpectedExits: string[] = [];
  const fleet: Fleet = {
    apis: [],
    workers: [],
    unexpectedExits,
    async startWorkers(count) {
      const started = Array.from({ length: count }, (_, i) => launch('worker', `worker-${fleet.workers.length + i + 1}`, null));
      fleet.workers.push(...started);
      all.push(...started);
      await Promise.all(started.map((worker) => worker.ready));
    },
    async stop() {
      await Promise.all(all.map((process) => process.stop()));
    },
  };

  const launch = (role: Role, name: string, port: number | null): Launched => {
    const url = port === null ? null : `http://127.0.0.1:${port}`;
    let child: ChildProcess;
    let stderr = '';
    let expectingExit = false;
    let exited: Promise<void> = Promise.resolve();
    const start = () => {
      expectingExit = false;
      stderr = '';
      child = spawn(process.execPath, ['--import', 'tsx', ENTRY[role]], {
        cwd: ROOT,
        env: { ...baseEnv(), ...options.env, ...(port === null ? {} : { PORT: String(port), RUN_WORKER: '0' }) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2_000);
      });
      exited = new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (!expectingExit) unexpectedExits.push(`${name} exited (${signal ?? code}): ${stderr.trim().slice(-500) || 'no output'}`);
          resolve();
        }),
      );
      return waitReady();
    };
    const waitReady = async () => {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (Date.now() < deadline) {
        if (!alive()) throw new Error(`${name} exited while starting: ${stderr.trim().slice(-500)}`);
        if (role === 'api' ? await healthy(url!) : await workerSessions(options.admin) >= liveWorkers()) return;
        await sleep(100);
      }
      throw new Error(`${name} not ready within ${READY_TIMEOUT_MS / 1000} s`);
    };
    const alive = () => child.exitCode === null && child.signalCode === null;
    const launched: Launched = {
      role,
      name,
      url,
      ready: start(),
      alive,
      pid: () => child.pid!,
      async restart() {
        const t0 = Date.now();
        await exited;
        // Until the dead worker's session is gone, counting sessions would call the new one ready too soon.
        if (role === 'worker') await until(async () => (await workerSessions(options.admin)) <= liveWorkers(), 15_000);
        await start();
        return Date.now() - t0;
      },
      kill9() {
        expectingExit = true;
        child.kill('SIGKILL');
      },
      async stop() {
        if (!alive()) return;
        expectingExit = true;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(killer);
      },
    };
    return launched;
  };

  try {
    const ports = await Promise.all(Array.from({ length: options.apis }, () => freePort()));
    const first = launch('api', 'api-1', ports[0]!);
    fleet.apis.push(first);
    all.push(first);
    await first.ready;
    const rest = ports.slice(1).map((port, i) => launch('api', `api-${i + 2}`, port));
    fleet.apis.push(...rest);
    all.push(...rest);
    await Promise.all(rest.map((api) => api.ready));
    return fleet;
  } catch (error) {
    await fleet.stop();
    throw error;
  }
}

/** What a service process inherits from ours: where programs and temporary files are, nothing else. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  return Object.fromEntries(keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]!]));
}

async function healthy(url: string) {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Worker liveness sessions on the admin pool's database right now (a server may hold other runs' databases). */
export async function workerSessions(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity where application_name like 'orchestrator-worker:%' and datname = current_database()`,
  );
  return Number(rows[0]!.n);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(await condition())) await sleep(100);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
