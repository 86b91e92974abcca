/**
 * A V8 CPU profile of this process over a benchmark's measured window, when BENCH_CPU_PROFILE names a
 * directory (one `.cpuprofile` per window, for Chrome DevTools or `bench/profile-summary.ts`). Off, it costs
 * nothing: the profiler samples only while it runs.
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

let session: Session | null = null;
let windows = 0;

/** Starts (or starts again) sampling; a no-op without BENCH_CPU_PROFILE. */
export function startCpuProfile(): { restart(): void; stop(): void } {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return { restart() {}, stop() {} };
  if (!session) {
    session = new Session();
    session.connect();
    // The in-thread session answers synchronously; 200 µs is fine enough for functions of tens of µs.
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  const own = session;
  const start = () => own.post('Profiler.start');
  start();
  return {
    restart() {
      own.post('Profiler.stop', () => start());
    },
    stop() {
      own.post('Profiler.stop', (error, result) => {
        if (error) return;
        mkdirSync(dir, { recursive: true });
        windows += 1;
        writeFileSync(path.join(dir, `${process.pid}-${windows}.cpuprofile`), JSON.stringify(result.profile));
      });
    },
  };
}
