import type { Db } from '../db/database.js';
import { readConversations, type ConversationFound, type ConversationRead } from '../db/event-store.js';

/**
 * Group read: the conversations read at the same moment (events arriving together, for conversations this
 * process does not remember) share one statement (src/db/event-store.ts readConversations), as their writes
 * share one in the group commit. Nothing waits for a timer: a read made while fewer than `maxInFlight`
 * statements are running goes out at once, alone; the ones that come meanwhile go together in the next.
 */
export interface GroupRead {
  read(read: ConversationRead): Promise<ConversationFound>;
}

/** Read statements running at once (each holds one pooled connection while it runs). */
export const GROUP_READ_IN_FLIGHT = 2;

interface Pending {
  read: ConversationRead;
  resolve: (found: ConversationFound) => void;
  reject: (error: unknown) => void;
}

export function createGroupRead(db: Db, options: { maxInFlight?: number; maxBatch?: number } = {}): GroupRead {
  const maxInFlight = options.maxInFlight ?? GROUP_READ_IN_FLIGHT;
  const maxBatch = options.maxBatch ?? 200;
  const queue: Pending[] = [];
  let inFlight = 0;

  function pump() {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      inFlight += 1;
      readConversations(
        db,
        batch.map((pending) => pending.read),
        false,
      )
        .then(
          (found) => batch.forEach((pending, i) => pending.resolve(found[i]!)),
          (error: unknown) => batch.forEach((pending) => pending.reject(error)),
        )
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    }
  }

  return {
    read(read) {
      return new Promise((resolve, reject) => {
        queue.push({ read, resolve, reject });
        pump();
      });
    },
  };
}
