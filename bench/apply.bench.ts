/**
 * `npm run bench:apply`: the write path alone (no HTTP, no JWT, no zod), with and without group commit, in one
 * run on one PostgreSQL, so the two are compared on the same machine at the same moment. N conversations are
 * seeded in `drafting` (the process remembers them, as a process with a worker does); then `BENCH_CONCURRENCY`
 * callers apply `sms.received` to random ones for `BENCH_SECONDS`, first with the defaults (group commit),
 * then with one event per statement (`maxBatch: 1`), then with group commit again. CPU per event is read from
 * /proc for this process and the PostgreSQL server. Prints a table and rewrites its section of
 * docs/benchmarks.md (BENCH_REPORT). No assertions on timings anywhere: this is a measurement, not a test.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { conversationMachine } from '../machines/conversation/conversation.machine.js';
import pg from 'pg';
import { createDb, createPool, WRITER_SESSIONS, type Db } from '../src/db/database.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { createRuntime, type Runtime } from '../src/runtime/apply-event.js';
import { GROUP_COMMIT_IN_FLIGHT, type GroupCommitOptions } from '../src/runtime/group-commit.js';
import { actionRouting } from '../src/runtime/projections.js';
import { startCpuWindow } from './lib/cpu.js';
import { startEmbedded } from './lib/embedded-pg.js';
import { writeSection } from './lib/report.js';
import { f0, f1, f2, percentiles, positive } from './lib/stats.js';

const TEXT = 'Hi, I can pay 50 dollars next Friday. Is that ok?';

async function main() {
  const seconds = positive('BENCH_SECONDS', 8);
  const concurrency = positive('BENCH_CONCURRENCY', 100);
  const conversations = positive('BENCH_CONVERSATIONS', 2000);
  const loadAtStart = os.loadavg();
  const embedded = await startEmbedded({ maxConnections: 200 });
  // Idle connections stay open: a backend that exits takes its CPU out of the server's sum in /proc.
  const pool = new pg.Pool({ connectionString: embedded.url, max: 20, idleTimeoutMillis: 0 });
  pool.on('error', () => {}); // a client the stopping server ends must not end the run
  const db = createDb(pool);
  try {
    await migrateDatabase(db, pool);
    const runId = randomBytes(4).toString('hex');
    const ids = Array.from({ length: conversations }, (_, i) => `apply-${runId}-${i}`);
    const rows: string[][] = [];
    // One event alone (one caller), as a process with a worker writes it: the batch statement prepared, on the
    // shared pool (where PostgreSQL re-plans it for every run) or on the group commit's own sessions (planned once).
    // Idle connections stay open, as for the pool above: a backend that exits mid-window takes its CPU out of the sum.
    const prepared = createDb(createPool(embedded.url, { max: 20, prepareStatements: true, idleTimeoutMs: 0 }));
    const writer = createDb(createPool(embedded.url, { ...WRITER_SESSIONS, max: GROUP_COMMIT_IN_FLIGHT, idleTimeoutMs: 0 }));
    const configurations: Array<{ name: string; db: Db; callers: number; groupCommit: GroupCommitOptions }> = [
      { name: 'group commit (default)', db, callers: concurrency, groupCommit: {} },
      { name: 'one event per statement', db, callers: concurrency, groupCommit: { maxBatch: 1, maxInFlight: 20 } },
      { name: 'group commit (again)', db, callers: concurrency, groupCommit: {} },
      { name: 'one caller, prepared on the shared pool', db: prepared, callers: 1, groupCommit: {} },
      { name: 'one caller, prepared on its own sessions (generic plan)', db: prepared, callers: 1, groupCommit: { writer } },
    ];
    for (const { name, db, callers, groupCommit } of configurations) {
      const runtime = createRuntime({ db, machine: conversationMachine, actions: actionRouting, rememberConversations: conversations, groupCommit });
      await inParallel(ids, 20, (id) => runtime.apply(sms(id, `seed-${name}-${id}`, true)));
      let n = 0;
      const latencies: number[] = [];
      const warmupUntil = Date.now() + 2_000;
      while (Date.now() < warmupUntil) await burst(runtime, ids, callers, 200, () => {});
      const cpu = startCpuWindow(embedded.postmasterPid);
      const started = performance.now();
      const until = Date.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (Date.now() < until) {
            const id = ids[Math.floor(Math.random() * ids.length)]!;
            const t0 = performance.now();
            await runtime.apply(sms(id, `e-${randomBytes(6).toString('hex')}`, false));
            latencies.push(performance.now() - t0);
            n += 1;
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      const window = cpu.stop(elapsed);
      const p = percentiles(latencies);
      rows.push([
        name,
        f0(n / elapsed),
        `${f1(p.p50)} / ${f1(p.p95)}`,
        f0((window.benchProcessMs * 1000) / n),
        window.postgresMs === null ? '–' : f0((window.postgresMs * 1000) / n),
        f0(((window.machineMs - window.benchProcessMs - (window.postgresMs ?? 0)) * 1000) / n),
      ]);
      // Each configuration starts from conversations it wrote itself.
      for (let i = 0; i < ids.length; i += 1) ids[i] = `${ids[i]}x`;
    }
    const table = [
      '| configuration | events/s | p50 / p95 ms | Node µs/event | PostgreSQL µs/event | other µs/event |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((row) => `| ${row.join(' | ')} |`),
    ].join('\n');
    console.log(`\nwrite path alone, ${concurrency} callers, ${seconds} s each, pool 20\n\n${table}`);
    const report = process.env.BENCH_REPORT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks.md');
    writeSection(report, 'apply', [
      '# Benchmarks: the write path alone, with and without group commit',
      '',
      '`npm run bench:apply` (`bench/apply.bench.ts`; `npm run bench` runs it after the event path). The runtime alone (no HTTP,',
      `JWT or zod) applies \`sms.received\` to random ones of ${f0(conversations)} conversations it remembers, from ${concurrency} callers at`,
      `once, ${seconds} s per configuration after 2 s of warm-up, on a pool of 20: first with the defaults (group commit:`,
      'docs/architecture.md §2), then with one event per statement (`maxBatch: 1`, 20 statements at once), then the',
      'defaults again; then one caller alone (one event at a time), with the statement prepared as in a process with a',
      'worker, first on the shared pool, then on the group commit\'s own sessions (`writer`, generic plan: docs/architecture.md §5);',
      'in one run on one embedded PostgreSQL (server defaults, synchronous_commit on). CPU from /proc:',
      'this process (Node) and the PostgreSQL server; "other" is the rest of the machine (near zero when quiet).',
      '',
      `## Results (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
      '',
      `Machine: ${os.cpus().length} CPUs, Node ${process.version}; load average at the start ${loadAtStart.map(f2).join(' / ')}.`,
      '',
      table,
    ].join('\n'));
    await prepared.destroy();
    await writer.destroy();
  } finally {
    await db.destroy().catch(() => {});
    await embedded.stop();
  }
}

function sms(id: string, key: string, create: boolean) {
  return {
    conversationId: id,
    event: { type: 'sms.received', text: TEXT, messageId: key, at: new Date().toISOString() },
    idempotencyKey: key,
    actor: 'service:bench',
    ...(create ? { create: { conversationId: id, tenantId: 'tenant-bench', phone: '+15550100200' } } : {}),
    ifNotAccepted: 'record' as const,
  };
}

async function burst(runtime: Runtime, ids: string[], concurrency: number, count: number, done: () => void) {
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let i = c; i < count; i += concurrency) await runtime.apply(sms(ids[Math.floor(Math.random() * ids.length)]!, `w-${randomBytes(6).toString('hex')}`, false));
    }),
  );
  done();
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
