import type { Db } from '../db/database.js';
import { readConversations, type ConversationFound, type ConversationRead } from '../db/event-store.js';
import { groupCalls } from './batches.js';

/**
 * Group read: the conversations read at the same moment (events arriving together, for conversations this
 * process does not remember) share one statement (src/db/event-store.ts readConversations), as their writes
 * share one in the group commit, on the same rhythm (batches.ts): at most two statements running, each
 * holding a pooled connection while it runs.
 */
export interface GroupRead {
  read(read: ConversationRead): Promise<ConversationFound>;
}

export function createGroupRead(db: Db, options: { maxInFlight?: number; maxBatch?: number } = {}): GroupRead {
  const read = groupCalls((reads: ConversationRead[]) => readConversations(db, reads, false), {
    maxInFlight: options.maxInFlight ?? 2,
    maxBatch: options.maxBatch ?? 200,
  });
  return { read };
}
