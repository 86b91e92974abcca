/**
 * The rhythm the group commit, the group read, the send-time gate's reads and the group fence share: what is
 * asked for at the same moment goes out as one statement (or, for the fence, one transaction). Nothing waits for a timer: an item added while fewer than `maxInFlight` batches are running goes
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

/**
 * A call made at the same moment as others goes as one call with all their inputs (`run` answers one output
 * per input, in order), on the rhythm above: the group read, the send-time gate's reads. `distinct`: inputs
 * with the same value go in different batches (a statement that claims a key must not hold it twice). A
 * batch that fails is run again input by input, so that only the input that caused it sees the error.
 */
export function groupCalls<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  options: { maxInFlight: number; maxBatch: number; distinct?: (input: I) => string },
): (input: I) => Promise<O> {
  interface Pending {
    input: I;
    resolve: (output: O) => void;
    reject: (error: unknown) => void;
  }
  const { maxBatch, distinct } = options;
  const add = batchesOf<Pending>({
    maxInFlight: options.maxInFlight,
    take: (queue) => {
      if (!distinct) return queue.splice(0, maxBatch);
      const batch: Pending[] = [];
      const waiting: Pending[] = [];
      const seen = new Set<string>();
      for (const pending of queue) {
        const value = distinct(pending.input);
        (batch.length < maxBatch && !seen.has(value) ? batch : waiting).push(pending);
        seen.add(value);
      }
      queue.splice(0, queue.length, ...waiting);
      return batch;
    },
    run: async (batch) => {
      try {
        const outputs = await run(batch.map((pending) => pending.input));
        batch.forEach((pending, i) => pending.resolve(outputs[i]!));
      } catch (error) {
        if (batch.length === 1) return batch[0]!.reject(error);
        for (const pending of batch) {
          await run([pending.input]).then(([output]) => pending.resolve(output!), pending.reject);
        }
      }
    },
  });
  return (input) => new Promise<O>((resolve, reject) => add({ input, resolve, reject }));
}
