import type { Db } from '../db/database.js';
import { readConversations, type ConversationFound, type ConversationRead } from '../db/event-store.js';
import { batchesOf } from './batches.js';

/**
 * Group read: the conversations read at the same moment (events arriving together, for conversations this
 * process does not remember) share one statement (src/db/event-store.ts readConversations), as their writes
 * share one in the group commit, on the same rhythm (batches.ts): at most two statements running, each
 * holding a pooled connection while it runs.
 */
export interface GroupRead {
  read(read: ConversationRead): Promise<ConversationFound>;
}

interface Pending {
  read: ConversationRead;
  resolve: (found: ConversationFound) => void;
  reject: (error: unknown) => void;
}

export function createGroupRead(db: Db, options: { maxInFlight?: number; maxBatch?: number } = {}): GroupRead {
  const maxBatch = options.maxBatch ?? 200;
  const add = batchesOf<Pending>({
    maxInFlight: options.maxInFlight ?? 2,
    take: (queue) => queue.splice(0, maxBatch),
    run: async (batch) => {
      try {
        const found = await readConversations(db, batch.map((pending) => pending.read), false);
        batch.forEach((pending, i) => pending.resolve(found[i]!));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    },
  });
  return { read: (read) => new Promise((resolve, reject) => add({ read, resolve, reject })) };
}
