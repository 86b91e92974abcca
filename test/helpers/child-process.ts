import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildService {
  process: ChildProcess;
  /** Resolves when a log line with this message has been printed. */
  waitForLog(message: string, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs one of our entry points (src/main.ts, src/worker-main.ts) as a real process, logs as JSON lines. */
export function spawnService(entry: string, env: Record<string, string>): ChildService {
  // The same Node as the tests (the project's own), with tsx's loader for the TypeScript sources.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: string[] = [];
  const waiters: Array<{ message: string; resolve: () => void }> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (process.env.TEST_CHILD_OUTPUT) process.stderr.write(`[${entry}] ${line}\n`);
      try {
        const message = (JSON.parse(line) as { msg?: string }).msg;
        if (message) {
          seen.push(message);
          for (const waiter of waiters.filter((w) => w.message === message)) waiter.resolve();
        }
      } catch {
        // not a log line
      }
      newline = buffer.indexOf('\n');
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return {
    process: child,
    waitForLog(message, timeoutMs = 20_000) {
      if (seen.includes(message)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${entry} did not log "${message}" in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
        waiters.push({ message, resolve: () => (clearTimeout(timer), resolve()) });
        exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${entry} exited before logging "${message}"; stderr: ${stderr.slice(-2000)}`));
        });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command (scripts/*.ts through tsx, or a compiled dist/*.js with plain node) to its end, without
 * blocking this process's event loop (a service child's output must keep draining meanwhile).
 */
export function runScript(entry: string, args: string[], env: Record<string, string>, options: { timeoutMs?: number; onStdout?: (text: string) => void } = {}) {
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    options.onStdout?.(stdout);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<ScriptRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} ${args.join(' ')} did not end in ${options.timeoutMs ?? 120_000} ms; stdout: ${stdout.slice(-1000)} stderr: ${stderr.slice(-1000)}`));
    }, options.timeoutMs ?? 120_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return Object.assign(result, { process: child });
}

export { freePort, portToBindAgain } from './ports.mjs';
