import type { Db } from '../db/database.js';
import { lockForHandOffs, type FenceFound, type FenceHeld, type FenceHolds } from '../db/event-store.js';
import { markAllAccepted, type Acceptance } from '../db/outbound-messages.repository.js';
import { batchesOf } from './batches.js';

/** What a fence holds besides the row (FenceHolds), and the text its `work` handed off, recorded as accepted with the batch. */
export type FenceOptions<T> = FenceHolds & { accepted?: (value: T) => Acceptance };

export interface HandOff<T> {
  conversationId: string;
  holds: FenceHolds;
  /** Whether the hand-off may go, from the row's live tokens (undefined: no such row); when not, `work` does not run. */
  live: (found: FenceFound['live']) => boolean;
  work: (held: FenceHeld) => Promise<T>;
  accepted?: (value: T) => Acceptance;
}

export type HandOffOutcome<T> = { live: true; value: T } | { live: false };

/** Fence transactions at once, by default (composition.ts gives a quarter of the pool). */
export const HAND_OFFS_IN_FLIGHT = 5;

export interface GroupFence {
  run<T>(handOff: HandOff<T>): Promise<HandOffOutcome<T>>;
}

interface Pending {
  handOff: HandOff<unknown>;
  resolve: (outcome: HandOffOutcome<unknown>) => void;
  reject: (error: unknown) => void;
}

type Settled = { kind: 'stopped' } | { kind: 'done'; value: unknown } | { kind: 'failed'; error: unknown };

/**
 * Group fence: the hand-offs asked for at the same moment share one fence transaction (docs/architecture.md
 * §4), as events share the group commit's statement: one BEGIN, one statement that holds their rows and
 * numbers, one that records their texts accepted, one COMMIT, instead of four statements a text. A burst's
 * answers reach the fence together (they leave the group commit together); the batch's hand-offs go out at
 * once. Nothing waits for a timer (batches.ts): at most `maxInFlight` transactions run, each holding a pooled
 * connection while its hand-offs are out.
 *
 * A hand-off's `work` (the request) runs while the batch holds its row and number, and gets no connection:
 * it cannot leave the shared transaction aborted for the others. What it must commit with the hand-off (its
 * text accepted: `accepted`) is written once every work is done, for the whole batch in one statement, in the
 * same transaction. If that or the commit fails, nothing of the batch is recorded and each hand-off that went
 * out fails with that error: its text's row stays claimed, and the retry reconciles it
 * (src/adapters/sms-delivery.ts). One hand-off's own failure (the SMS Agent refused it, the number opted out)
 * is its alone.
 */
export function createGroupFence(db: Db, options: { maxInFlight: number; maxBatch?: number }): GroupFence {
  const maxBatch = options.maxBatch ?? 50;
  const add = batchesOf<Pending>({
    maxInFlight: options.maxInFlight,
    take: (queue) => queue.splice(0, maxBatch),
    run: async (batch) => {
      let settled: Settled[] | undefined;
      try {
        await db.transaction().execute(async (trx) => {
          const found = await lockForHandOffs(trx, batch.map(({ handOff }) => ({ conversationId: handOff.conversationId, holds: handOff.holds })));
          settled = await Promise.all(batch.map(({ handOff }, i) => settle(handOff, found[i]!)));
          const accepted = settled.flatMap((outcome, i) => {
            const { accepted: acceptance } = batch[i]!.handOff;
            return outcome.kind === 'done' && acceptance ? [acceptance(outcome.value)] : [];
          });
          if (accepted.length > 0) await markAllAccepted(trx, accepted);
        });
      } catch (error) {
        // Nothing was recorded: a hand-off that went out (or never got to run) fails with the batch's error; one
        // that was stopped, or failed on its own, ends as it would have anyway.
        settled = batch.map((_, i) => (settled?.[i] === undefined || settled[i].kind === 'done' ? { kind: 'failed', error } : settled[i]));
      }
      settled!.forEach((outcome, i) => {
        const pending = batch[i]!;
        if (outcome.kind === 'failed') pending.reject(outcome.error);
        else pending.resolve(outcome.kind === 'stopped' ? { live: false } : { live: true, value: outcome.value });
      });
    },
  });
  return {
    run: <T>(handOff: HandOff<T>) =>
      new Promise<HandOffOutcome<T>>((resolve, reject) =>
        add({ handOff: handOff as HandOff<unknown>, resolve: resolve as Pending['resolve'], reject }),
      ),
  };
}

async function settle(handOff: HandOff<unknown>, found: FenceFound): Promise<Settled> {
  if (!handOff.live(found.live)) return { kind: 'stopped' };
  try {
    return { kind: 'done', value: await handOff.work(found.held) };
  } catch (error) {
    return { kind: 'failed', error };
  }
}
