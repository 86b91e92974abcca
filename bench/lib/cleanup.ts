/** What every bench undoes on the way out (servers, pools, temporary databases), last started first, also on Ctrl-C. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function cleanupStack() {
  const steps: Array<() => Promise<unknown>> = [];
  const run = async () => {
    for (const step of steps.splice(0).reverse()) await step().catch((error) => console.error('bench: cleanup step failed', error));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void run().finally(() => process.exit(130)));
  return {
    push: (step: () => Promise<unknown>) => void steps.push(step),
    /** A step already done by its owner. */
    remove: (step: () => Promise<unknown>) => {
      const at = steps.indexOf(step);
      if (at >= 0) steps.splice(at, 1);
    },
    run,
  };
}

/** Where a bench writes its section: BENCH_REPORT, or docs/benchmarks.md. */
export function reportPath(): string {
  return path.resolve(process.env.BENCH_REPORT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../../docs/benchmarks.md'));
}
