/**
 * `npm run bench:turns`: whole turns under a burst. N distinct debtors text at once ("Hi, what is my
 * balance?"); the real service, started in-process on an embedded PostgreSQL (server defaults, so
 * max_connections=100 like the service's own embedded database), drafts with the `openai` drafter through
 * the real SDK against a local stub that answers every completion after BENCH_MODEL_DELAY_MS (1000), and
 * sends through the SMS Agent simulator. A turn is timed from its POST to the simulator receiving the reply.
 * After each burst: exactly-once (one reply per debtor, one inbox row and inbound message per POST, every
 * conversation in awaitingReply).
 *
 * Configurations, each on its own database of the same server, in the same run:
 * - `defaults`: no WORKER_CONCURRENCY or DB_POOL_SIZE set, N = 100 and N = 1,000 (BENCH_TURNS_SIZES);
 * - `replies`: the defaults, N = 100 debtors of the warm-up texting again (BENCH_TURNS_REPLY_SIZES): answered
 *   before, their conversations rest with a timer, the usual turn in the field;
 * - `baseline`: WORKER_CONCURRENCY=4 (the default before 2026-11-25), N = 100 (BENCH_TURNS_BASELINE_SIZES;
 *   empty to skip). Job priorities cannot be switched off, so this is the old concurrency, not all of main.
 *
 * Rewrites its section of docs/benchmarks.md (BENCH_REPORT). No assertions on timings anywhere.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { cleanupStack, reportPath } from './lib/cleanup.js';
import { startEmbedded } from './lib/embedded-pg.js';
import { serverStatementFlags, startServerStatements } from './lib/server-statements.js';
import { writeSection } from './lib/report.js';
import { benchServiceEnv } from './lib/service.js';
import { startOutsideWorld } from './lib/outside-world.js';
import { describeMachine, describeMachineLine, f0, f1, positive, type MachineInfo, type Percentiles } from './lib/stats.js';
import { runTurnBurst, TURN_TEXT, type Stages, type TurnResult } from './lib/turn-load.js';

const FOOTER = 'Acme Recovery is a debt collector attempting to collect a debt; any information obtained will be used for that purpose. Reply STOP to opt out.';
const MODEL_ANSWER = {
  reply: `Thanks for your message. Your balance is in your account summary; we can help you set up a plan. ${FOOTER}`,
  intents: ['question'],
  plan: null,
  confidence: 0.95,
  reasons: ['bench'],
};

/**
 * Debtors of the warm-up burst each configuration runs first, not counted: a long-running service has compiled its
 * code, opened its pool's connections and planned its prepared statements. PostgreSQL plans a prepared statement
 * afresh for its first five runs on each connection: a warm-up of 20 left the 100-burst planning on nearly every
 * run, and one of 100 (about five runs per connection of the pool's 20) still left ~0.5 ms of planning per turn in
 * the first measured burst (the draft's facts, the gate's, the inbound read), gone by the third (BENCH_PG_STATEMENTS).
 */
const WARMUP = positive('BENCH_TURNS_WARMUP', 300);

interface Configuration {
  name: string;
  env: Record<string, string>;
  sizes: number[];
  note: string;
  /** Its bursts are debtors of its warm-up texting again (answered before), not new ones. */
  textAgain?: boolean;
}

interface Measured {
  configuration: Configuration;
  poolSize: number;
  concurrency: number;
  bursts: TurnResult[];
}

function sizes(name: string, fallback: string): number[] {
  const text = process.env[name] ?? fallback;
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const value = Number(part);
      if (!Number.isInteger(value) || value <= 0 || value > 1_000_000) throw new Error(`${name}: not a burst size: ${part}`);
      return value;
    });
}

async function main() {
  const report = reportPath();
  const modelDelayMs = positive('BENCH_MODEL_DELAY_MS', 1000);
  const all: Configuration[] = [
    { name: 'defaults', env: {}, sizes: sizes('BENCH_TURNS_SIZES', '100,1000'), note: 'the embedded defaults of this version, nothing tuned' },
    {
      name: 'replies: debtors answered before text again',
      env: {},
      sizes: sizes('BENCH_TURNS_REPLY_SIZES', '100'),
      note: `the defaults; each burst is debtors of the warm-up, whose conversations rest in awaitingReply with their no-reply timer, texting again (the usual turn in the field: the text removes the timer, the conversation is not new), at most ${WARMUP} in all`,
      textAgain: true,
    },
    {
      name: 'baseline: WORKER_CONCURRENCY=4',
      env: { WORKER_CONCURRENCY: '4' },
      sizes: sizes('BENCH_TURNS_BASELINE_SIZES', '100'),
      note: 'the default concurrency before this change (pool 20); job priorities on',
    },
  ];
  const configurations = all.filter((configuration) => configuration.sizes.length > 0);

  const { loadConfig } = await import('../src/config.js');
  const { startOrchestrator } = await import('../src/composition.js');
  const { signToken } = await import('../src/http/auth.js');
  const { createLogger } = await import('../src/logger.js');

  const cleanups = cleanupStack();
  const cleanup = cleanups.run;

  try {
    const databaseUrl = process.env.BENCH_DATABASE_URL;
    const embedded = databaseUrl ? null : await startEmbedded({ flags: serverStatementFlags() });
    if (embedded) cleanups.push(embedded.stop);
    const admin = new pg.Pool({ connectionString: databaseUrl ?? embedded!.url, max: 1, application_name: 'bench-admin' });
    admin.on('error', () => {});
    cleanups.push(() => admin.end());
    const machine = await describeMachine(admin);
    const postmasterPid = embedded?.postmasterPid ?? null;
    const world = await startOutsideWorld({ modelDelayMs, modelAnswer: MODEL_ANSWER });
    cleanups.push(() => world.stop());

    const measured: Measured[] = [];
    // Debtors are numbered across the run (debtorOnRecord): no two bursts share a number.
    let nextDebtor = 0;
    for (const configuration of configurations) {
      const runId = randomBytes(4).toString('hex');
      const url = databaseUrl ?? (await embedded!.database(`turns_${runId}`));
      const jwtSecret = randomBytes(32).toString('hex');
      const config = loadConfig(
        benchServiceEnv(
          { databaseUrl: url, jwtSecret },
          {
            // The outside world's simulators and model stub, not the service's own in-process ones.
            COLLECTIONS_MONITOR_URL: world.urls.collectionsMonitor,
            SMS_AGENT_URL: world.urls.smsAgent,
            NOTIFICATION_SERVICE_URL: world.urls.notificationService,
            OPENAI_API_KEY: 'sk-bench',
            OPENAI_BASE_URL: world.urls.openAi,
            // Every hour is a calling hour: the bench must not depend on when it runs.
            CALLING_HOURS_START: '0',
            CALLING_HOURS_END: '24',
            ...configuration.env,
          },
        ),
      );
      const orchestrator = await startOrchestrator(config, createLogger({ level: 'silent' }));
      const token = signToken(jwtSecret, 'service', 'sms-agent');
      const bursts: TurnResult[] = [];
      try {
        // Warm-up, not counted (WARMUP says why).
        const warmup = { runId: `${runId}-warmup`, firstDebtor: nextDebtor };
        await runTurnBurst({ orchestrator, world, token, n: WARMUP, ...warmup, timeoutMs: Math.max(120_000, WARMUP * 200), settleMs: 0, postmasterPid, modelDelayMs });
        nextDebtor += WARMUP;
        let answeredBefore = warmup.firstDebtor; // the next of the warm-up's debtors to text again
        for (const n of configuration.sizes) {
          if (configuration.textAgain && answeredBefore + n > warmup.firstDebtor + WARMUP) throw new Error(`${configuration.name}: bursts of ${configuration.sizes.join(' + ')} need more than the warm-up's ${WARMUP} debtors`);
          console.log(`bench: ${configuration.name}, ${n} debtors at once…`);
          const serverStatements = await startServerStatements(url);
          const result = await runTurnBurst({
            orchestrator,
            world,
            token,
            n,
            runId: `${runId}-${n}-${nextDebtor}-${answeredBefore}`, // a size may be measured twice (BENCH_TURNS_SIZES=100,100)
            ...(configuration.textAgain ? { debtorsOf: warmup.runId, firstDebtor: answeredBefore } : { firstDebtor: nextDebtor }),
            timeoutMs: Math.max(120_000, n * 200),
            settleMs: 2_000,
            postmasterPid,
            modelDelayMs,
          });
          if (configuration.textAgain) answeredBefore += n;
          else nextDebtor += n;
          console.log(renderLine(configuration.name, result));
          await serverStatements?.print(n);
          if (process.env.BENCH_STATEMENTS) for (const [text, perTurn] of result.cost.topStatements) console.log(`    ${perTurn.toFixed(2).padStart(6)} × ${text}`);
          bursts.push(result);
        }
      } finally {
        await orchestrator.close();
      }
      measured.push({ configuration, poolSize: config.dbPoolSize, concurrency: config.worker.concurrency, bursts });
    }

    writeSection(report, 'turns', renderReport({ machine, modelDelayMs, measured, database: databaseUrl ? 'BENCH_DATABASE_URL' : 'embedded, server defaults' }));
    console.log(`\nwritten: ${path.relative(process.cwd(), report)}`);
    const broken = measured.flatMap((m) => m.bursts).filter((burst) => !burst.exactlyOnce.ok || burst.non202 > 0);
    if (broken.length > 0) {
      console.error(`bench: ${broken.length} bursts failed the exactly-once check or had failed POSTs (see the report)`);
      process.exitCode = 1;
    }
  } finally {
    await cleanup();
  }
}

function renderLine(name: string, r: TurnResult) {
  const t = r.turnMs;
  return `  ${name} N=${r.n}: POSTs retried ${r.retried} ${JSON.stringify(r.statuses)}; turns p50 ${f0(t.p50)} ms, p95 ${f0(t.p95)} ms, p99 ${f0(t.p99)} ms, max ${f0(t.max)} ms; ${f1(r.turnsPerSecond)} turns/s; stages p50/p95 ms: received ${stage(r.stages.received)}, drafted ${stage(r.stages.drafted)} (to the model call ${stage(r.stages.toModel)}, the call ${stage(r.stages.model)}), delivered ${stage(r.stages.delivered)}; timeline ms from the first POST, first / median / last turn: ${timelineText(r.stages.timeline)}; ${r.connectionsOpened} new connections; per turn: ${f1(r.cost.statements)} statements, CPU ms service ${f1(r.cost.serviceCpuMs)} / postgres ${r.cost.postgresCpuMs === null ? '–' : f1(r.cost.postgresCpuMs)} / outside ${f1(r.cost.outsideCpuMs)} (after the model call ${afterModel(r.cost)}); ${r.completed}/${r.n} replies; exactly-once ${r.exactlyOnce.ok ? 'ok' : 'FAILED ' + JSON.stringify(r.exactlyOnce)}`;
}

const stage = (p: { p50: number; p95: number }) => `${f0(p.p50)} / ${f0(p.p95)}`;
const timelineText = (t: Stages['timeline']) => {
  const at = (s: Percentiles) => `${f0(s.min)} / ${f0(s.p50)} / ${f0(s.max)}`;
  return `texts committed ${at(t.committed)}, model requests out ${at(t.modelOut)}, drafts' results committed ${at(t.resultCommitted)}, replies at the SMS Agent ${at(t.replied)}`;
};
/** The CPU per turn used after the first model answer could come back: service / PostgreSQL / outside (in all). */
function afterModel(cost: TurnResult['cost']): string {
  const before = cost.beforeModel;
  if (!before) return '–';
  const service = cost.serviceCpuMs - before.serviceCpuMs;
  const postgres = cost.postgresCpuMs === null || before.postgresCpuMs === null ? null : cost.postgresCpuMs - before.postgresCpuMs;
  const outside = cost.outsideCpuMs - before.outsideCpuMs;
  return `${f1(service)} / ${postgres === null ? '–' : f1(postgres)} / ${f1(outside)} (${f1(service + (postgres ?? 0) + outside)})`;
}

function renderReport(r: { machine: MachineInfo; modelDelayMs: number; measured: Measured[]; database: string }) {
  const rows = r.measured.flatMap((m) =>
    m.bursts.map((b) => {
      const e = b.exactlyOnce;
      const once = e.ok
        ? `ok (${f0(e.oneReply)} × 1 reply, ${f0(e.inboxRows)} inbox applied, all awaitingReply)`
        : `**FAILED**: ${e.oneReply} one reply, ${e.noReply} none, ${e.extraReplies} more than one; inbox ${e.inboxRows} (${e.inboxApplied} applied); inbound ${e.inboundMessages}; states ${JSON.stringify(e.states)}`;
      return `| ${m.configuration.name} (concurrency ${m.concurrency}, pool ${m.poolSize}) | ${f0(b.n)} | ${f0(b.turnMs.p50)} / ${f0(b.turnMs.p95)} / ${f0(b.turnMs.p99)} | ${f0(b.turnMs.max)} | ${f1(b.turnsPerSecond)} | ${f0(b.postMs.p50)} / ${f0(b.postMs.p95)} | ${b.retried} (${Object.entries(b.statuses).filter(([status]) => status !== '202').map(([status, count]) => `${status}: ${count}`).join(', ') || 'none refused'}) / ${b.non202} | ${f1(b.cost.statements)} | ${f1(b.cost.serviceCpuMs)} / ${b.cost.postgresCpuMs === null ? '–' : f1(b.cost.postgresCpuMs)} / ${f1(b.cost.outsideCpuMs)} | ${afterModel(b.cost)} | ${once} |`;
    }),
  );
  return `# Benchmarks: turns under a burst

\`npm run bench:turns\` (\`bench/turns.bench.ts\`; \`npm run bench\` runs it after the event path). N distinct debtors (each a tenant of its own texting from the number on its record; until 2026-12-04 all of one tenant, from numbers not on record, so every turn was the identity question)
text "${TURN_TEXT}" at once (N POSTs to \`/orchestrate/sms-received\` fired together); the real service runs
in-process with its worker, the \`openai\` drafter through the real SDK against a local stub that answers
every completion after ${f0(r.modelDelayMs)} ms (\`BENCH_MODEL_DELAY_MS\`), and the simulators. A turn is timed from its
POST to the SMS Agent simulator receiving the reply (the minimum is one model call, ${f0(r.modelDelayMs)} ms). turns/s is N over
the time from the first POST to the last reply. After each burst, exactly-once is checked: one reply per
debtor (2 s more are watched for late duplicates), one inbox row \`applied\` and one inbound message per POST,
every conversation in \`awaitingReply\`. A refused POST (503 when no database connection frees up within
10 s, any 5xx, a network error) is sent again after 1 s with the same Idempotency-Key, as the SMS Agent would,
up to 5 tries; its turn is still timed from the first try. Each configuration first runs a warm-up burst of ${WARMUP} debtors, not counted
(a fresh process compiles code, opens connections and plans its prepared statements, each afresh for its first five runs on a connection, on its first requests; \`BENCH_TURNS_WARMUP\`; 20 until 2026-12-04, 100 until 2026-12-05). Calling hours are set to 0–24 so the run does not depend on the hour.
CPU and statements are counted from the first POST until every turn's reply is recorded as sent (its acceptance and the sender's result committed: the service's count of transitions into
\`awaitingReply\`, read in its process; until 2026-12-05 the count stopped when the last reply reached the SMS Agent, which left out the work a
turn does after its text has left, the more so as that work is batched). CPU is also read once when the first model answer can come back (the model's delay after the first POST): what is used after that point is
the work after the turns' model calls (for 100 at once all the work before them is done by then), the path a burst's p95 waits on ("What a burst's p95 is made of", below).
For 1,000 at once and the baseline the work before the calls is still going on at that point, so there the split means little (and PostgreSQL's part
can even come out below zero: a backend that exits between the two readings takes its CPU out of the sum).
Settings: \`BENCH_TURNS_SIZES\` (default 100,1000), \`BENCH_TURNS_REPLY_SIZES\` (default 100; empty skips the replies), \`BENCH_TURNS_BASELINE_SIZES\` (default 100; empty skips the baseline).

## Results (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

${describeMachineLine(r.machine)}
PostgreSQL: ${r.machine.postgres}; ${r.database}; max_connections=${r.machine.maxConnections}, synchronous_commit=${r.machine.synchronousCommit}.
The machine is shared with other work: these are the numbers of one run, not a property of the service alone.

| configuration | N | turn p50 / p95 / p99 ms | max ms | turns/s | POST→202 p50 / p95 ms | POSTs retried (refusals) / given up | statements per turn | CPU ms per turn: service / PostgreSQL / outside | of which after the model call (in all) | exactly-once |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |
${rows.join('\n')}

Each burst as a timeline, ms from its first POST: when the first, the median and the last turn got there (one turn's
points need not be the same turn's).

${r.measured.flatMap((m) => m.bursts.map((b) => `- ${m.configuration.name}, N=${f0(b.n)}: ${timelineText(b.stages.timeline)}; ${b.connectionsOpened} new connections.`)).join('\n')}

${r.measured.map((m) => `- **${m.configuration.name}**: ${m.configuration.note}.`).join('\n')}
- Before issue 19's group commit and one-job turns (commit fcc51d7, two runs on this machine on 2026-12-04 at
  19:24 and 19:40 UTC, each right before a run of this version): 100 at once p95 2,935 / 2,970 ms, 20.2 / 21.9
  statements and 39.1 / 50.5 ms of CPU per turn in all; 1,000 at once p95 20,980 / 21,453 ms, 46.5 / 45.8
  turns/s, 20.4 / 20.6 statements, 35.1 / 36.7 ms of CPU per turn in all.
- Before issue 8 (2026-11-25): 100 at once with the defaults of then (WORKER_CONCURRENCY=4, pool 20) p95 27 s.
`;
}

await main();
