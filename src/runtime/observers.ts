/**
 * What the runtime reports to its observers (src/metrics.ts registers them): declared here, beside the code
 * that reports it, so that the runtime imports nothing of the observer.
 */

/** How a job ended: its histogram's and failure counter's label. */
export type JobOutcome = 'ok' | 'failed';

/** What the database holds that a scrape reports: read once per scrape, at most (backlog.ts). */
export interface Backlog {
  jobs: Array<{ task: string; ready: number; waiting: number; running: number; failed: number; oldestReadyAgeSeconds: number }>;
  approvals: { pending: number; oldestAgeSeconds: number };
}
