/**
 * Runs the tasks given for one key one after another, in the order given; tasks of different keys run freely.
 * In memory, for one process: waiting here holds nothing, where waiting for a row or a lock in the database
 * holds a pooled connection (docs/architecture.md §2, "The one fallback").
 */
export class OneAtATime {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const next = previous ? previous.then(task, task) : task();
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
