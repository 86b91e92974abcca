import { startOrchestrator } from './composition.js';
import { loadConfig } from './config.js';
import { processLifecycle } from './lifecycle.js';
import { createLogger, terminalDestination } from './logger.js';
import { exitOnStartFailure, loadConfigOrExit } from './startup-errors.js';

/** A worker-only process (`npm run worker`): runs jobs, serves no HTTP. Scale these out on one Postgres. */
const config = loadConfigOrExit(() => loadConfig());
const logger = createLogger({ level: config.logLevel, name: 'orchestrator-worker', destination: await terminalDestination() });
if (!config.databaseUrl) {
  // An embedded database belongs to the one process that started it; extra workers join a shared one.
  logger.fatal('a worker-only process needs DATABASE_URL (the database the API process uses)');
  process.exit(2); // the configuration's to fix: a supervisor must not restart it in a loop
}
const lifecycle = processLifecycle(logger);

const orchestrator = await startOrchestrator(config, logger, { http: false, worker: true, onLivenessLost: lifecycle.onLivenessLost }).catch(
  (error: unknown) => exitOnStartFailure(error, config, logger),
);
lifecycle.started(orchestrator);
