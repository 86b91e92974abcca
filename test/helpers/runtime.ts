import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import type { Db } from '../../src/db/database.js';
import { createRuntime, type Runtime } from '../../src/runtime/apply-event.js';
import { actionRouting } from '../../src/runtime/projections.js';

/** The runtime as the service builds it (the conversation machine, the projection table), on a test database. */
export function testRuntime(db: Db): Runtime {
  return createRuntime({ db, machine: conversationMachine, actions: actionRouting });
}
