import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/logger.js';
import { graphileLogger } from '../../src/runtime/worker.js';

describe("graphile-worker's log lines", () => {
  it('when graphile-worker warns that the pool is smaller than the concurrency, then it is a debug line (that is the design), and other warnings stay warnings', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const adapter = graphileLogger(log).scope({ label: 'worker' });
    adapter.warn('WARNING: having maxPoolSize (20) smaller than concurrency (100) may lead to non-optimal performance.');
    adapter.warn('Failed to release job 7');
    const written = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(written.map((line) => [line.level, line.msg])).toEqual([
      [20, expect.stringContaining('maxPoolSize')],
      [40, 'Failed to release job 7'],
    ]);
  });
});
