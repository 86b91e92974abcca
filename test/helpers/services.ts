import { createServiceClients } from '../../src/adapters/clients/index.js';
import type { Logger } from '../../src/logger.js';
import type { RunningSimulators } from '../../src/simulators/index.js';

/**
 * The real downstream clients against the simulators, for tests that drive jobs by hand: a short call timeout,
 * near-instant in-call backoff, and a breaker that never opens (the tests are about other things).
 */
export function testServiceClients(simulators: RunningSimulators, logger: Logger) {
  return createServiceClients({
    urls: simulators.urls,
    timeoutMs: 300,
    token: () => 'test-token',
    logger,
    resilience: { backoffInitialMs: 5, backoffMaxMs: 10, breakerThreshold: 1_000 },
  });
}
