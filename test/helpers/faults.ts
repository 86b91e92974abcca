import request from 'supertest';
import type { FaultSpec } from '../../src/simulators/simulator-kit.js';

/** Fault injection over HTTP, as a person or another process would drive a simulator (docs/runbook.md). */
export async function injectFault(simulatorUrl: string, spec: FaultSpec): Promise<void> {
  await request(simulatorUrl).post('/_control/faults').send(spec).expect(201);
}

export async function clearFault(simulatorUrl: string): Promise<void> {
  await request(simulatorUrl).delete('/_control/faults').expect(200);
}
