/**
 * The rhythm the group commit and the group read share: what is asked for at the same moment goes out as one
 * statement. Nothing waits for a timer: an item added while fewer than `maxInFlight` batches are running goes
 * out at once, alone; the ones added meanwhile go together in the next, when a running one ends.
 */
export function batchesOf<T>(options: {
  maxInFlight: number;
  /** Takes the next batch out of `queue` (what it leaves there waits); empty: nothing may go until a running batch ends. */
  take: (queue: T[]) => T[];
  /** Runs one batch and settles each item's caller; never rejects. */
  run: (batch: T[]) => Promise<void>;
  /** After a batch ended, before the next is taken. */
  ended?: (batch: T[]) => void;
}): (item: T) => void {
  const queue: T[] = [];
  let inFlight = 0;

  function pump() {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = options.take(queue);
      if (batch.length === 0) return;
      inFlight += 1;
      void options.run(batch).finally(() => {
        inFlight -= 1;
        options.ended?.(batch);
        pump();
      });
    }
  }

  return (item) => {
    queue.push(item);
    pump();
  };
}
