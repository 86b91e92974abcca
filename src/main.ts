import { startOrchestrator } from './composition.js';
import { loadConfig } from './config.js';
import { processLifecycle } from './lifecycle.js';
import { createLogger, terminalDestination } from './logger.js';
import { exitOnStartFailure, loadConfigOrExit } from './startup-errors.js';

/** Composition root: config → logger → everything else; drains on SIGTERM/SIGINT, exits 1 when its worker is lost. */
const config = loadConfigOrExit(() => loadConfig());
const logger = createLogger({ level: config.logLevel, destination: await terminalDestination() });
const lifecycle = processLifecycle(logger);

const orchestrator = await startOrchestrator(config, logger, { onLivenessLost: lifecycle.onLivenessLost }).catch((error: unknown) =>
  exitOnStartFailure(error, config, logger),
);
lifecycle.started(orchestrator);
