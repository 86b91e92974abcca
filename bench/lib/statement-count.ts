/**
 * Counts the SQL statements this process sends to PostgreSQL (every `pg` client: the service's pool,
 * graphile-worker's, ours), by statement text. A deterministic figure beside the timings: a change that
 * adds a round trip per turn shows here even on a noisy machine.
 */
import pg from 'pg';

const counts = new Map<string, number>();
let installed = false;

export function countStatements() {
  if (!installed) {
    installed = true;
    const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    (pg.Client.prototype as unknown as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
      const first = args[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : (first?.text ?? '?');
      // The head only: a batch write's text is kilobytes, and this runs inside the process being measured.
      const key = text.slice(0, 160).replace(/\s+/g, ' ').trim().slice(0, 80);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return original.apply(this, args);
    };
  }
  return {
    reset: () => counts.clear(),
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    /** The most frequent statements, most frequent first. */
    top: (k: number) => [...counts].sort((a, b) => b[1] - a[1]).slice(0, k),
  };
}
