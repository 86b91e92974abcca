/**
 * `npm run bench:list`: the managers' list of conversations (`GET /v1/conversations`) at 10^4, 10^5 and 10^6
 * stored conversations (BENCH_LIST_SIZES). Conversations are generated as for the scale bench
 * (bench/lib/scale-data.ts: copies of two made by the real service); at each size a fresh service process
 * (src/main.ts, worker off) answers, one request at a time (c1), a manager's token of every tenant:
 *
 * - the first page of 50, no filter;
 * - the first page of a top state (`escalated`, one conversation in ten) and of a full state path;
 * - the first page of one tenant;
 * - the first page with `counts=true` (counts by state: every row the filters keep is counted);
 * - the first page of a free-text match on tenant ids that hits one conversation (`q`: a substring, served
 *   by a trigram index).
 *
 * Settings: BENCH_LIST_SIZES (10000,100000,1000000), BENCH_LIST_REQUESTS (200 per measurement),
 * BENCH_LIST_WARMUP (20), BENCH_REPORT. Rewrites its section of docs/benchmarks.md. No assertions on timings.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { cleanupStack, reportPath } from './lib/cleanup.js';
import { startEmbedded } from './lib/embedded-pg.js';
import { writeSection } from './lib/report.js';
import { generateConversations, makeTemplates, planCopies, type Template } from './lib/scale-data.js';
import { runSequential, type SequentialResult } from './lib/sequential-http.js';
import { benchServiceEnv, startServiceProcess } from './lib/service.js';
import { describeMachine, describeMachineLine, f0, f1, f2, positive, sizesFromEnv, type MachineInfo } from './lib/stats.js';

interface Query {
  name: string;
  /** The query string, given the size (a tenant that exists at that size). */
  query: (size: number) => string;
}

const QUERIES: Query[] = [
  { name: 'first page, no filter', query: () => 'limit=50' },
  { name: 'top state `escalated` (1 in 10)', query: () => 'limit=50&state=escalated' },
  { name: 'full path `awaitingReply` (9 in 10)', query: () => 'limit=50&state=awaitingReply' },
  { name: 'one tenant', query: (size) => `limit=50&tenant_id=tenant-s${Math.floor(size / 2)}` },
  { name: 'first page + counts by state', query: () => 'limit=50&counts=true' },
  { name: '`q`: part of a tenant id, one match', query: (size) => `limit=50&q=s${Math.floor(size / 2) + 1}` },
];

/** A generous start-up allowance: the machine this runs on may be shared. */
const START_TIMEOUT_MS = 180_000;

interface SizeResult {
  conversations: number;
  generationSeconds: number;
  results: Array<{ name: string; result: SequentialResult }>;
}

async function main() {
  const settings = {
    sizes: sizesFromEnv('BENCH_LIST_SIZES'),
    requests: positive('BENCH_LIST_REQUESTS', 200),
    warmup: positive('BENCH_LIST_WARMUP', 20),
    report: reportPath(),
  };
  const { signToken } = await import('../src/http/auth.js');
  const cleanups = cleanupStack();
  try {
    const embedded = await startEmbedded({ flags: ['-c', 'max_wal_size=8GB'] });
    cleanups.push(embedded.stop);
    const admin = new pg.Pool({ connectionString: embedded.url, max: 2, application_name: 'bench-admin' });
    admin.on('error', () => {});
    cleanups.push(() => admin.end());
    const machine = await describeMachine(admin);

    const jwtSecret = randomBytes(32).toString('hex');
    const serviceToken = signToken(jwtSecret, 'service', 'sms-agent');
    const managerToken = signToken(jwtSecret, 'manager', 'bench-manager', '12h', { org: 'bench-org' });

    console.log('bench: making the template conversations with the real service…');
    const templates = await makeTemplates(benchServiceEnv({ databaseUrl: embedded.url, jwtSecret }, { RUN_WORKER: '1', CALLING_HOURS_START: '0', CALLING_HOURS_END: '24' }), admin, serviceToken, START_TIMEOUT_MS);
    const copies = await planCopies(embedded.url, templates);
    const serviceEnv = benchServiceEnv({ databaseUrl: embedded.url, jwtSecret }, { RUN_WORKER: '0', ORG_ID: 'bench-org' });

    const sizes: SizeResult[] = [];
    let generated = 0;
    for (const size of settings.sizes) {
      console.log(`bench: generating conversations ${f0(generated)} … ${f0(size)}…`);
      const generation = await generateConversations(embedded.url, templates, copies, generated, size);
      generated = size;
      const service = await startServiceProcess(serviceEnv, START_TIMEOUT_MS);
      try {
        const results: SizeResult['results'] = [];
        for (const query of QUERIES) {
          const spec = () => ({ method: 'GET' as const, path: `/v1/conversations?${query.query(size)}`, headers: { authorization: `Bearer ${managerToken}` } });
          await runSequential(service.url, settings.warmup, spec);
          const result = await runSequential(service.url, settings.requests, spec);
          results.push({ name: query.name, result });
          console.log(`bench:   ${f0(size)} ${query.name}: p50 ${f2(result.latencyMs.p50)} / p95 ${f2(result.latencyMs.p95)} ms ${JSON.stringify(result.statuses)}`);
        }
        sizes.push({ conversations: size, generationSeconds: generation.seconds + generation.analyzeSeconds, results });
      } finally {
        await service.stop();
      }
    }
    writeSection(settings.report, 'conversation-list', renderReport({ machine, settings, templates, sizes }));
    console.log(`\nwritten: ${path.relative(process.cwd(), settings.report)}`);
    if (sizes.some((s) => s.results.some((r) => Object.keys(r.result.statuses).some((status) => status !== '200')))) process.exitCode = 1;
  } finally {
    await cleanups.run();
  }
}

function renderReport(r: { machine: MachineInfo; settings: { sizes: number[]; requests: number; warmup: number }; templates: Template[]; sizes: SizeResult[] }) {
  const header = `| query | ${r.sizes.map((s) => `${f0(s.conversations)} p50 / p95 ms`).join(' | ')} |`;
  const rule = `| --- | ${r.sizes.map(() => '---:').join(' | ')} |`;
  const rows = QUERIES.map((q) => {
    const cells = r.sizes.map((s) => {
      const found = s.results.find((x) => x.name === q.name)!.result;
      return `${f2(found.latencyMs.p50)} / ${f2(found.latencyMs.p95)}`;
    });
    return `| ${q.name} | ${cells.join(' | ')} |`;
  });
  return `# Benchmarks: the managers' list of conversations

\`npm run bench:list\` (\`bench/conversation-list.bench.ts\`). \`GET /v1/conversations\` with a manager's token of every
tenant, against a fresh service process (\`src/main.ts\`, worker off) at each size, one request at a time (c1, one
keep-alive connection; ${r.settings.warmup} of each query first, not counted, then ${r.settings.requests}). The conversations are generated as
for the scale bench (copies of ${r.templates.map((t) => `\`${t.state}\``).join(' and ')} conversations made by the real service, one tenant each;
every copy keeps its template's \`updated_at\`, so the list's order leans on its tie-break, the id). Timed from the
request's start to the response's end: the whole answer, 50 items as JSON.
Settings: \`BENCH_LIST_SIZES\` (10000,100000,1000000), \`BENCH_LIST_REQUESTS\` (200), \`BENCH_LIST_WARMUP\` (20).

## Results (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

${describeMachineLine(r.machine)}
PostgreSQL: ${r.machine.postgres}.

${header}
${rule}
${rows.join('\n')}

Generation, vacuum and analyze: ${r.sizes.map((s) => `${f0(s.conversations)} in ${f1(s.generationSeconds)} s`).join(', ')} (each size adds to the previous one).

How to read it: the first page, a state, a full path and a tenant each read about 50 entries of an index in
the list's order (\`migrations/202612047001_conversation_list.ts\`), so they do not grow with the table (EXPLAIN
ANALYZE at 10^5: about 1 ms in PostgreSQL; the rest is the service and a machine shared with other work).
\`q\` matches any part of a tenant id through a trigram index (\`migrations/202612047002_tenant_search.ts\`;
without pg_trgm it would read the whole order when the match is rare). \`counts=true\` counts every conversation the
filters keep (an index-only scan of the state index): it grows with the table, so the API computes it only when
asked and the console asks for it apart from the list, every 15 s, not with every refresh.
`;
}

await main();
