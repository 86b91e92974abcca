import { conversationMachine } from '../../machines/conversation/conversation.machine.js';
import type { Db } from '../../src/db/database.js';
import { createRuntime, type Runtime } from '../../src/runtime/apply-event.js';
import { actionRouting } from '../../src/runtime/projections.js';

/**
 * The runtime as the service builds it (the conversation machine, the projection table), on a test database.
 * `rememberConversations` as in the service (CONVERSATION_CACHE_SIZE); default none, so every event reads.
 * `onJobsWritten`: the service announces jobs to its workers; default nobody is told (tests run jobs by hand).
 * `handOffsInFlight`: fence transactions at once (the group fence), as composition.ts sets it from the pool.
 */
export function testRuntime(db: Db, options: Pick<Parameters<typeof createRuntime>[0], 'rememberConversations' | 'onJobsWritten' | 'groupCommit' | 'handOffsInFlight'> = {}): Runtime {
  return createRuntime({ db, machine: conversationMachine, actions: actionRouting, ...options });
}
