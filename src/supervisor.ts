import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';

/**
 * `npm start`: runs the service (or, with the argument `worker`, a worker-only process) as a child and starts
 * it again when it ends without being asked to. A process whose worker is lost (the database restarted, its
 * liveness session broke) exits 1 by design, and one that cannot reach its database exits 1 at start; both
 * come back here, under a new worker identity, once the database answers, with no one at the keyboard.
 * Exit 0 (drained) and exit 2 (the configuration cannot work: restarting would fail the same way) end it.
 * Containers do not need it: their runtime (Docker's restart policy, Kubernetes) is the supervisor there.
 */

const ENTRIES = { main: 'main', worker: 'worker-main' } as const;
const entryName = (process.argv[2] ?? 'main') as keyof typeof ENTRIES;
if (!Object.hasOwn(ENTRIES, entryName)) {
  process.stderr.write(`could not start: unknown entry ${entryName} (main or worker)\n`);
  process.exit(2);
}
// The sibling file, compiled (.js) or run from the sources (.ts, with the same loader flags as this process).
const extension = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
const entry = fileURLToPath(new URL(`./${ENTRIES[entryName]}${extension}`, import.meta.url));

// Only the log level: the child reads and reports the configuration (and exits 2 when it is wrong).
const logLevel = (() => {
  try {
    return loadConfig().logLevel;
  } catch {
    return 'info';
  }
})();
const logger = createLogger({ level: logLevel, name: 'supervisor' });

/** Waits between starts: 1 s, doubling to at most 10 s; a child that ran a minute starts the count again. */
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 10_000;
const STEADY_MS = 60_000;
const CONFIGURATION_EXIT = 2;

let child: ChildProcess | null = null;
let stopping = false;
let delayMs = FIRST_DELAY_MS;
let waiting: NodeJS.Timeout | null = null;

function start() {
  waiting = null;
  const startedAt = Date.now();
  child = spawn(process.execPath, [...process.execArgv, entry], { stdio: 'inherit' });
  child.once('exit', (code, signal) => {
    child = null;
    if (stopping) process.exit(code ?? 0);
    if (code === 0 || code === CONFIGURATION_EXIT) {
      logger.info({ code }, code === 0 ? 'service ended' : 'service refused its configuration; not restarting');
      process.exit(code);
    }
    if (Date.now() - startedAt >= STEADY_MS) delayMs = FIRST_DELAY_MS;
    logger.warn({ code, signal, restartInMs: delayMs }, 'service ended without being asked to; restarting it');
    waiting = setTimeout(start, delayMs);
    delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    stopping = true;
    if (waiting) {
      clearTimeout(waiting);
      process.exit(0);
    }
    // The child drains (HTTP, worker, embedded database) and exits; this process follows with its code.
    child?.kill(signal);
  });
}

start();
