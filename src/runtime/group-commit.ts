import type { Db } from '../db/database.js';
import { isKeyTaken, writeEvents, type EventWrite, type WriteResult } from '../db/event-store.js';
import { batchesOf } from './batches.js';

/**
 * Group commit: the events being written at the same moment share one statement and one commit
 * (src/db/event-store.ts writeEvents), as a durable log batches its appends. Nothing waits for a timer: an
 * event written while fewer than `maxInFlight` statements are running goes out at once, alone; the ones that
 * arrive meanwhile go together in the next statement. A batch holds one event per conversation (and per
 * tenant's default conversation of a number), and none of a conversation a running statement writes: those
 * wait for the next batch, in the order they came.
 */
export interface GroupCommit {
  write(write: EventWrite): Promise<WriteResult>;
}

/** Batch statements running at once, by default; a pool of sessions for them alone needs this many connections. */
export const GROUP_COMMIT_IN_FLIGHT = 2;

export interface GroupCommitOptions {
  /**
   * Where the batch statement runs, when not on the runtime's own connections: sessions that run it alone,
   * prepared and planned once (generic plan). PostgreSQL keeps re-planning it on shared connections, where it
   * would choose a custom plan for every run (~0.65 ms each); see docs/architecture.md §5.
   */
  writer?: Db;
  /** Statements running at once (each holds one pooled connection while it runs). */
  maxInFlight?: number;
  /** Events in one statement at most. */
  maxBatch?: number;
  /** Told the size of each batch written (metrics). */
  onBatch?: (size: number) => void;
}

interface Pending {
  write: EventWrite;
  identities: string[];
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

const LOST: WriteResult = { written: false, busy: false };

export function createGroupCommit(db: Db, options: GroupCommitOptions = {}): GroupCommit {
  const maxInFlight = options.maxInFlight ?? GROUP_COMMIT_IN_FLIGHT;
  const writer = options.writer ?? db;
  const maxBatch = options.maxBatch ?? 200;
  /** Conversations (and default numbers) that a running statement writes. */
  const writing = new Set<string>();
  const add = batchesOf<Pending>({
    maxInFlight,
    take: takeBatch,
    run: flush,
    ended: (batch) => {
      for (const pending of batch) for (const identity of pending.identities) writing.delete(identity);
    },
  });

  /** An empty batch when all that waits is of conversations a running statement writes: its end takes again. */
  function takeBatch(queue: Pending[]): Pending[] {
    const batch: Pending[] = [];
    const waiting: Pending[] = [];
    const taken = new Set<string>();
    for (const pending of queue) {
      const free = batch.length < maxBatch && pending.identities.every((identity) => !writing.has(identity) && !taken.has(identity));
      // Whatever waits keeps a later event of its conversation waiting too, so each conversation's events keep their order.
      for (const identity of pending.identities) taken.add(identity);
      (free ? batch : waiting).push(pending);
    }
    queue.splice(0, queue.length, ...waiting);
    for (const pending of batch) for (const identity of pending.identities) writing.add(identity);
    return batch;
  }

  async function flush(batch: Pending[]) {
    options.onBatch?.(batch.length);
    try {
      const results = await writeEvents(writer, batch.map((pending) => pending.write));
      batch.forEach((pending, i) => pending.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1) return settleAlone(batch[0]!, error);
      // One event's error undid the whole statement: each is written again alone, so only its own caller sees it.
      for (const pending of batch) {
        try {
          const [result] = await writeEvents(writer, [pending.write]);
          pending.resolve(result!);
        } catch (alone) {
          settleAlone(pending, alone);
        }
      }
    }
  }

  function settleAlone(pending: Pending, error: unknown) {
    if (isKeyTaken(error)) pending.resolve(LOST);
    else pending.reject(error);
  }

  return {
    write(write) {
      return new Promise<WriteResult>((resolve, reject) => add({ write, identities: identitiesOf(write), resolve, reject }));
    },
  };
}

/** What two events of one batch must not share: the conversation, and for a new one the tenant's default number. */
function identitiesOf(write: EventWrite): string[] {
  const identities = [`id:${write.conversationId}`];
  if (write.change === 'insert' && write.row?.default_for_phone) identities.push(`default:${write.row.tenant_id}:${write.row.default_for_phone}`);
  return identities;
}
