/**
 * The service as the benchmarks run it: the environment they all start it with, and (for the scale bench)
 * the real entry point in a process of its own, so that its memory is the service's alone and the load
 * generator does not share its event loop.
 */
import { spawnService, type ChildService } from '../../test/helpers/child-process.js';
import { freePort } from './embedded-pg.js';

/**
 * `development` (production would refuse the simulators), free ports for the API and the simulators,
 * logging off. `overrides` adds or replaces variables (RUN_WORKER, OPENAI_*, …).
 */
export function benchServiceEnv(options: { databaseUrl: string; jwtSecret: string }, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'development',
    PORT: '0',
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET: options.jwtSecret,
    SIMULATOR_BASE_PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export interface ServiceProcess {
  url: string;
  pid: number;
  /** Resident and peak resident memory of the service process, MiB (from /proc). */
  memory(): Promise<{ rssMb: number; peakRssMb: number }>;
  stop(): Promise<void>;
}

/** src/main.ts in its own process, on a free port; resolves once GET /health answers. */
export async function startServiceProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ServiceProcess> {
  const port = await freePort();
  const child: ChildService = spawnService('src/main.ts', { ...env, PORT: String(port), LOG_LEVEL: env.LOG_LEVEL === 'silent' ? 'warn' : (env.LOG_LEVEL ?? 'warn') });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`the service exited (${child.process.exitCode}) before it was ready`);
    const ok = await fetch(`${url}/health`).then((res) => res.ok, () => false);
    if (ok) break;
    if (Date.now() > until) {
      await child.kill();
      throw new Error(`the service did not answer /health within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const pid = child.process.pid!;
  return {
    url,
    pid,
    memory: async () => {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
    },
    // SIGTERM drains like a deployment would; a service that does not stop in time is killed.
    stop: async () => {
      const killer = setTimeout(() => void child.kill('SIGKILL'), 20_000);
      await child.kill('SIGTERM');
      clearTimeout(killer);
    },
  };
}
