/**
 * `npm run bench:scale` (and the last part of `npm run bench`): does size matter? Stored conversations are
 * generated in SQL at 10^4, 10^5 and 10^6 (BENCH_SCALE_SIZES), and at each size, against the real service
 * started fresh in its own process (src/main.ts, worker off: the event path, not the side effects):
 *
 * - one event on an existing conversation at c1 over HTTP (`POST /v1/conversations/{id}/events`,
 *   `sms.received` on a conversation that awaits a reply), p50 / p95;
 * - one new conversation at c1 (`POST /orchestrate/sms-received` from a number never seen), p50 / p95;
 * - the service's RSS (after start, after the requests, peak);
 * - whether every statement those requests run is index-backed, and those of the turns they start: a probe
 *   service with its worker and auto_explain logs every plan, and each sequential scan is reported with the
 *   size of its table.
 *
 * Generation: the real service makes two template conversations (a question answered on its own, a
 * hardship offer, which ends with a person), then bench/lib/scale-data.ts copies them with generate_series, one
 * INSERT … SELECT per table, keeping every index. Each size adds to the previous one.
 *
 * Settings: BENCH_SCALE_SIZES (10000,100000,1000000), BENCH_SCALE_REQUESTS (500 per measurement),
 * BENCH_SCALE_WARMUP (50), BENCH_REPORT. Rewrites its section of docs/benchmarks.md. No assertions on timings.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { cleanupStack, reportPath } from './lib/cleanup.js';
import { startEmbedded } from './lib/embedded-pg.js';
import { explainNewSessions, sequentialScans, type ScanFinding } from './lib/plan-check.js';
import { writeSection } from './lib/report.js';
import { generateConversations, generatedId, kindOf, makeTemplates, planCopies, tableSizes, TEMPLATE_DEBTORS, type GenerationStep, type Template } from './lib/scale-data.js';
import { runSequential, type RequestSpec, type SequentialResult } from './lib/sequential-http.js';
import { waitForQuiescence } from './lib/soak-checks.js';
import { benchServiceEnv, startServiceProcess } from './lib/service.js';
import { describeMachine, describeMachineLine, f0, f1, f2, positive, sizesFromEnv, type MachineInfo } from './lib/stats.js';

const TEXT = 'Hi, I can pay 50 dollars next Friday. Is that ok?';
/** Requests of each kind the plan probe sends. */
const PROBE_REQUESTS = 5;
/** A sequential scan of a table at least this large is a finding; smaller ones are catalogues and queues. */
const LARGE_TABLE_ROWS = 1_000;

interface SizeResult {
  conversations: number;
  generation: { steps: GenerationStep[]; seconds: number; analyzeSeconds: number; addedConversations: number };
  tables: Record<string, number>;
  existing: SequentialResult;
  fresh: SequentialResult;
  memory: { afterStartMb: number; afterRequestsMb: number; peakMb: number };
  probe: { plans: number; scans: ScanFinding[] };
}

async function main() {
  const settings = {
    sizes: sizesFromEnv('BENCH_SCALE_SIZES'),
    requests: positive('BENCH_SCALE_REQUESTS', 500),
    warmup: positive('BENCH_SCALE_WARMUP', 50),
    report: reportPath(),
  };
  const { signToken } = await import('../src/http/auth.js');

  const cleanups = cleanupStack();
  const cleanup = cleanups.run;

  try {
    // The server's log is read only while the plan probe runs.
    let log = '';
    let capturing = false;
    // A larger WAL allowance only spaces out checkpoints while generating; a CHECKPOINT precedes every measurement.
    const embedded = await startEmbedded({ flags: ['-c', 'max_wal_size=8GB'], onLog: (text) => void (capturing && (log += text)) });
    cleanups.push(embedded.stop);
    const databaseUrl = embedded.url;
    const database = new URL(databaseUrl).pathname.slice(1);
    const admin = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'bench-admin' });
    admin.on('error', () => {});
    cleanups.push(() => admin.end());
    const machine = await describeMachine(admin);

    const jwtSecret = randomBytes(32).toString('hex');
    const token = signToken(jwtSecret, 'service', 'sms-agent');
    const runId = randomBytes(4).toString('hex');

    console.log('bench: making the template conversations with the real service…');
    const templates = await makeTemplates(benchServiceEnv({ databaseUrl, jwtSecret }, { RUN_WORKER: '1', CALLING_HOURS_START: '0', CALLING_HOURS_END: '24' }), admin, token);
    console.log(`bench: templates: ${templates.map((t) => `${t.kind} → ${t.state}`).join(', ')}`);

    const copies = await planCopies(databaseUrl, templates);
    console.log(`bench: rewritten per copy: ${copies.map((c) => `${c.link.table}(${c.columns.filter((col) => col.rewrite).map((col) => col.name).join(',')})`).join(' ')}`);

    const serviceEnv = benchServiceEnv({ databaseUrl, jwtSecret }, { RUN_WORKER: '0' });
    const probeEnv = benchServiceEnv({ databaseUrl, jwtSecret }, { RUN_WORKER: '1', CALLING_HOURS_START: '0', CALLING_HOURS_END: '24' });
    const targets = existingTargets();
    let newDebtor = 0;
    const existingEvent = (size: number) => (): RequestSpec => {
      const id = generatedId(targets.next(size));
      return {
        path: `/v1/conversations/${id}/events`,
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': `scale-${runId}-${newDebtor++}` },
        body: { type: 'sms.received', text: TEXT },
      };
    };
    const newConversation = (): RequestSpec => {
      const n = newDebtor++;
      return {
        path: '/orchestrate/sms-received',
        headers: { authorization: `Bearer ${token}` },
        body: { tenant_id: `tenant-new-${runId}-${n}`, phone_number: `+1555${String(9_000_000 + n).padStart(7, '0')}`, content: TEXT, message_id: `scale-new-${runId}-${n}` },
      };
    };

    const results: SizeResult[] = [];
    let generated = 0;
    for (const size of settings.sizes) {
      console.log(`bench: generating conversations ${f0(generated)} … ${f0(size)}…`);
      const generation = await generateConversations(databaseUrl, templates, copies, generated, size);
      const addedConversations = size - generated;
      generated = size;
      console.log(`bench:   ${f1(generation.seconds)} s (+ ${f1(generation.analyzeSeconds)} s vacuum, analyze, checkpoint): ${generation.steps.map((s) => `${s.table} ${f0(s.rows)} (${f1(s.seconds)} s)`).join(', ')}`);

      // Plans first, with a service of its own (auto_explain applies to the sessions it opens).
      await explainNewSessions(admin, database, true);
      log = '';
      capturing = true;
      // With its worker: the turns those texts start (draft, send gate, hand-off) are planned at this size too.
      const probeService = await startServiceProcess(probeEnv);
      try {
        await runSequential(probeService.url, PROBE_REQUESTS, existingEvent(size));
        await runSequential(probeService.url, PROBE_REQUESTS, newConversation);
        const quiet = await waitForQuiescence(admin, 120_000);
        if (!quiet.reached) console.error(`bench: the probe's turns were not done after ${f0(quiet.waitedMs / 1000)} s (${quiet.busyJobs} jobs): their plans are partly missing`);
      } finally {
        await probeService.stop();
        capturing = false;
        await explainNewSessions(admin, database, false);
      }
      const probe = await sequentialScans(admin, log);
      log = '';

      const service = await startServiceProcess(serviceEnv);
      try {
        const afterStart = await service.memory();
        await runSequential(service.url, settings.warmup, existingEvent(size));
        await runSequential(service.url, settings.warmup, newConversation);
        const existing = await runSequential(service.url, settings.requests, existingEvent(size));
        const fresh = await runSequential(service.url, settings.requests, newConversation);
        const after = await service.memory();
        const result: SizeResult = {
          conversations: size,
          generation: { ...generation, addedConversations },
          tables: await tableSizes(admin),
          existing,
          fresh,
          memory: { afterStartMb: afterStart.rssMb, afterRequestsMb: after.rssMb, peakMb: after.peakRssMb },
          probe,
        };
        results.push(result);
        console.log(renderLine(result));
      } finally {
        await service.stop();
      }
    }

    writeSection(settings.report, 'scale', renderReport({ machine, settings, templates, results }));
    console.log(`\nwritten: ${path.relative(process.cwd(), settings.report)}`);
    const failed = results.filter((r) => nonSuccess(r.existing) + nonSuccess(r.fresh) > 0);
    const scanned = results.flatMap((r) => largeScans(r.probe.scans));
    if (failed.length > 0) console.error(`bench: requests failed at ${failed.map((r) => f0(r.conversations)).join(', ')} conversations (see the report)`);
    if (scanned.length > 0) console.error(`bench: sequential scans of large tables:\n${[...new Set(scanned.map((s) => `  ${s.table}: ${s.statement}`))].join('\n')}`);
    if (failed.length > 0 || scanned.length > 0) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

/**
 * Conversations to send an event to: each once (an event moves it from awaitingReply to drafting, and the
 * next one should find it as the first did), all copies of the question template, drawn at random from all
 * the conversations generated so far.
 */
function existingTargets() {
  const used = new Set<number>();
  return {
    next(size: number): number {
      for (;;) {
        const g = Math.floor(Math.random() * size);
        if (kindOf(g) !== 'question' || used.has(g)) continue;
        used.add(g);
        return g;
      }
    },
  };
}

const nonSuccess = (r: SequentialResult) => Object.entries(r.statuses).filter(([status]) => !status.startsWith('2')).reduce((sum, [, n]) => sum + n, 0);
const largeScans = (scans: ScanFinding[]) => scans.filter((scan) => scan.rows >= LARGE_TABLE_ROWS);

function renderLine(r: SizeResult) {
  return `bench: ${f0(r.conversations)} conversations: existing p50 ${f2(r.existing.latencyMs.p50)} / p95 ${f2(r.existing.latencyMs.p95)} ms, new p50 ${f2(r.fresh.latencyMs.p50)} / p95 ${f2(r.fresh.latencyMs.p95)} ms, RSS ${f0(r.memory.afterStartMb)} → ${f0(r.memory.afterRequestsMb)} MiB (peak ${f0(r.memory.peakMb)}); statuses ${JSON.stringify(r.existing.statuses)} ${JSON.stringify(r.fresh.statuses)}; ${r.probe.plans} plans, large-table seq scans: ${largeScans(r.probe.scans).length}`;
}

function renderReport(r: { machine: MachineInfo; settings: { sizes: number[]; requests: number; warmup: number }; templates: Template[]; results: SizeResult[] }) {
  const rows = r.results.map((x) => {
    const statuses = nonSuccess(x.existing) + nonSuccess(x.fresh);
    const large = largeScans(x.probe.scans);
    return `| ${f0(x.conversations)} | ${f2(x.existing.latencyMs.p50)} / ${f2(x.existing.latencyMs.p95)} | ${f2(x.fresh.latencyMs.p50)} / ${f2(x.fresh.latencyMs.p95)} | ${f0(x.memory.afterStartMb)} / ${f0(x.memory.afterRequestsMb)} / ${f0(x.memory.peakMb)} | ${statuses} | ${large.length === 0 ? `none (${x.probe.plans} plans)` : large.map((s) => `**${s.table}** (${f0(s.rows)} rows)`).join(', ')} |`;
  });
  const generation = r.results.map((x) => {
    const rowsWritten = x.generation.steps.reduce((sum, s) => sum + s.rows, 0);
    return `| ${f0(x.conversations - x.generation.addedConversations)} → ${f0(x.conversations)} | ${f0(rowsWritten)} | ${f1(x.generation.seconds)} s | ${f0(rowsWritten / x.generation.seconds)} | ${f1(x.generation.analyzeSeconds)} s |`;
  });
  const last = r.results.at(-1);
  const small = [...new Set(r.results.flatMap((x) => x.probe.scans.filter((s) => s.rows < LARGE_TABLE_ROWS).map((s) => s.table)))];
  return `# Benchmarks: size does not matter

\`npm run bench:scale\` (\`bench/scale.bench.ts\`; \`npm run bench\` runs it third, before the processes bench). Stored conversations are generated in SQL
at each size, and at each size a fresh service process (\`src/main.ts\`, worker off, embedded PostgreSQL with
default settings but \`max_wal_size=8GB\`) is measured from outside, one request at a time (c1, one keep-alive
connection; ${r.settings.warmup} of each kind first, not counted, then ${r.settings.requests} of each):
- **existing**: \`POST /v1/conversations/{id}/events\` \`sms.received\` (service JWT, a fresh Idempotency-Key) on a
  generated conversation in \`${r.templates.find((t) => t.kind === 'question')?.state}\`, a different one each time, drawn at random from all of them;
- **new**: \`POST /orchestrate/sms-received\` from a tenant and number never seen (the conversation is created).

Generated conversations are copies of two made by the real service (HTTP, worker, rules drafter, simulators):
${r.templates.map((t) => `"${TEMPLATE_DEBTORS.find((d) => d.kind === t.kind)!.text}" ending in \`${t.state}\``).join(', and ')} (one in ten).
Every row they wrote is copied with new ids (conversation, tenant, number, draft), one \`INSERT … SELECT\` over
\`generate_series\` per table, rows in key order, every index and trigger in place; then \`VACUUM (ANALYZE)\` and
\`CHECKPOINT\`. Each size adds to the previous one. Copies' audit chains are not valid (a hash covers its conversation
id; nothing on the event path verifies it). Index check: before each measurement a probe service runs ${PROBE_REQUESTS} requests
of each kind with \`auto_explain\` logging every plan (nested statements too, such as \`graphile_worker.add_job\`),
and its worker runs the turns they start (the rules drafter's draft, the send gate, the hand-off to the simulated SMS Agent);
a sequential scan of a table of ${f0(LARGE_TABLE_ROWS)} rows or more is listed (a non-zero exit).
Settings: \`BENCH_SCALE_SIZES\` (default 10000,100000,1000000), \`BENCH_SCALE_REQUESTS\` (500), \`BENCH_SCALE_WARMUP\` (50).

## Results (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

${describeMachineLine(r.machine)}
PostgreSQL: ${r.machine.postgres}; synchronous_commit=${r.machine.synchronousCommit}.

| conversations | existing p50 / p95 ms | new p50 / p95 ms | service RSS after start / after / peak MiB | non-2xx | seq scans of large tables |
| --- | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}

Generation (rows in every table; the embedded server shares the machine's ${r.machine.cpus} cores):

| conversations | rows written | time | rows/s | vacuum + analyze + checkpoint |
| --- | ---: | ---: | ---: | ---: |
${generation.join('\n')}

${last ? `Rows at ${f0(last.conversations)} conversations: ${Object.entries(last.tables).filter(([, n]) => n > 0).map(([table, n]) => `${table} ${f0(n)}`).join(', ')}.` : ''}
${small.length > 0 ? `Sequential scans of small tables, expected: ${small.join(', ')}.` : ''}
`;
}

await main();
