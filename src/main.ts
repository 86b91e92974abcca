import { loadConfig } from './config.js';
import { processLifecycle } from './lifecycle.js';
import { createLogger, terminalDestination } from './logger.js';
import { exitOnStartFailure, loadConfigOrExit } from './startup-errors.js';

/** Composition root: config → logger → everything else; drains on SIGTERM/SIGINT, exits 1 when its worker is lost. */
const config = loadConfigOrExit(() => loadConfig());
const logger = createLogger({ level: config.logLevel, destination: await terminalDestination() });
const lifecycle = processLifecycle(logger);
// Loaded once the configuration holds: a bad variable is reported at once, before the whole service loads.
const { startOrchestrator } = await import('./composition.js');

const orchestrator = await startOrchestrator(config, logger, { onLivenessLost: lifecycle.onLivenessLost }).catch((error: unknown) =>
  exitOnStartFailure(error, config, logger),
);
lifecycle.started(orchestrator);
