/**
 * `npm run bench:processes`: more processes, more throughput; and a kill -9 that loses nothing.
 *
 * One PostgreSQL (embedded, server defaults: max_connections=100), the real service as separate OS processes
 * (bench/lib/service-processes.ts): API processes (`src/main.ts`, RUN_WORKER=0) and worker processes
 * (`src/worker-main.ts`), all on one DATABASE_URL; the simulators and the model stub in the outside-world
 * child (bench/lib/outside-world.ts). Two loads at once:
 * - events: autocannon (bench/lib/event-load.ts) posts `sms.received` events, connections split across the
 *   API processes, to conversations seeded in `escalated` (a person owns them: each event is applied, with
 *   its inbox row, message and transition; for the workers it leaves only the staff's "the debtor wrote"
 *   notice, one per conversation while it waits, run after the drafts), so events/s is the API side;
 * - turns: debtors in a closed loop (bench/lib/debtor-loop.ts) text through `/orchestrate/sms-received` and
 *   wait for the reply at the SMS Agent before texting again; every text is a draft (model stub, 1 s) and a
 *   send for the workers, so turns/s is the worker side.
 *
 * 1. Scaling: 1 API + 1 worker, then 2 + 2, same loads and windows, each on a fresh database of the server.
 * 2. Soak: 2 + 2 under both loads for BENCH_SOAK_SECONDS; at a random moment one random process is killed
 *    with SIGKILL and started again. Then, once the job queue is quiet, the invariants (bench/lib/soak-checks.ts).
 * The checks also run after each scaling run. Any failed check: exit status 1.
 *
 * Rewrites its section of docs/benchmarks.md (BENCH_REPORT). No assertions on timings anywhere.
 */
import { randomBytes, randomInt } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { processUsage, startCpuWindow } from './lib/cpu.js';
import { debtorOnRecord, type ConverseSeen } from './lib/debtor-loop.js';
import { cleanupStack, reportPath } from './lib/cleanup.js';
import { startEmbedded, type EmbeddedServer } from './lib/embedded-pg.js';
import { runEventLoad, type EventLoadResult } from './lib/event-load.js';
import { startOutsideWorld, type OutsideWorld } from './lib/outside-world.js';
import { writeSection } from './lib/report.js';
import { startFleet, type Fleet } from './lib/service-processes.js';
import { GROUP_COMMIT_IN_FLIGHT } from '../src/runtime/group-commit.js';
import { checkInvariants, waitForQuiescence, type Check, type Quiescence } from './lib/soak-checks.js';
import { describeMachine, describeMachineLine, f0, f1, percentiles, positive, type MachineInfo, type Percentiles } from './lib/stats.js';

const FOOTER = 'Acme Recovery is a debt collector attempting to collect a debt; any information obtained will be used for that purpose. Reply STOP to opt out.';
const MODEL_ANSWER = {
  reply: `Thank you for writing. We have your message and can set up a payment plan that fits. ${FOOTER}`,
  intents: ['question'],
  plan: null,
  confidence: 0.95,
  reasons: ['bench'],
};
const DEBTOR_TEXT = 'Hello, how much do I still owe?';
/** Connections of one process's pool (the service's default, DB_POOL_SIZE unset). */
const POOL_SIZE = 20;

interface Settings {
  seconds: number;
  warmupSeconds: number;
  soakSeconds: number;
  connections: number;
  conversations: number;
  debtors: number;
  modelDelayMs: number;
  /** Which kind of process the soak may kill: 'api', 'worker', or either (unset). */
  killRole: 'api' | 'worker' | null;
  report: string;
}

interface Shape {
  apis: number;
  workers: number;
}

interface Kill {
  victim: string;
  atSecond: number;
  readyAfterMs: number;
}

interface RunResult {
  shape: Shape;
  windowSeconds: number;
  events: EventLoadResult;
  eventsPerSecond: number;
  turnsPerSecond: number;
  turnMs: Percentiles;
  turnsInWindow: number;
  debtorStatuses: Record<string, number>;
  debtorsStopped: number;
  cpu: { machinePercent: number; postgresPercent: number | null; byProcess: ProcessShare[] };
  seedSeconds: number;
  kill: Kill | null;
  quiescence: Quiescence;
  checks: Check[];
  unexpectedExits: string[];
}

interface Context {
  settings: Settings;
  embedded: EmbeddedServer | null;
  world: OutsideWorld;
  jwtSecret: string;
  token: string;
  /** Steps run on SIGINT/SIGTERM too: service processes would otherwise outlive the bench. */
  cleanups: ReturnType<typeof cleanupStack>;
}

async function main() {
  const startedAt = Date.now();
  const settings: Settings = {
    seconds: positive('BENCH_SECONDS', 20),
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', 3),
    soakSeconds: positive('BENCH_SOAK_SECONDS', 60),
    connections: positive('BENCH_CONNECTIONS', 100),
    conversations: positive('BENCH_CONVERSATIONS', 1000),
    debtors: positive('BENCH_DEBTORS', 100),
    modelDelayMs: positive('BENCH_MODEL_DELAY_MS', 1000),
    killRole: killRole(process.env.BENCH_KILL_ROLE),
    report: reportPath(),
  };
  const { signToken } = await import('../src/http/auth.js');

  const cleanups = cleanupStack();
  const cleanup = cleanups.run;

  try {
    const embedded = process.env.BENCH_DATABASE_URL ? null : await startEmbedded();
    if (embedded) cleanups.push(embedded.stop);
    const admin = adminPool(process.env.BENCH_DATABASE_URL ?? embedded!.url);
    cleanups.push(() => admin.end());
    const machine = await describeMachine(admin);
    // Four processes of POOL_SIZE, the workers' group commit sessions (they prepare statements) and our two
    // admin pools. A killed process's backends see their sockets close and exit within moments, so its restart
    // fits in what is left (12 of the embedded server's 100).
    const needed = 4 * POOL_SIZE + 2 * GROUP_COMMIT_IN_FLIGHT + 4;
    if (Number(machine.maxConnections) < needed) throw new Error(`max_connections ${machine.maxConnections} < ${needed}: 2 + 2 processes of ${POOL_SIZE} connections would not fit`);
    const world = await startOutsideWorld({ modelDelayMs: settings.modelDelayMs, modelAnswer: MODEL_ANSWER });
    cleanups.push(() => world.stop());
    const jwtSecret = randomBytes(32).toString('hex');
    const context: Context = {
      settings,
      embedded,
      world,
      jwtSecret,
      token: signToken(jwtSecret, 'service', 'sms-agent'),
      cleanups,
    };

    const scaling: RunResult[] = [];
    for (const shape of [
      { apis: 1, workers: 1 },
      { apis: 2, workers: 2 },
    ]) {
      console.log(`bench: ${shape.apis} API + ${shape.workers} worker processes, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s…`);
      const result = await runLoad(context, shape, { seconds: settings.seconds, warmupSeconds: settings.warmupSeconds, kill: false });
      console.log(renderLine(result));
      scaling.push(result);
    }
    console.log(`bench: soak, 2 API + 2 worker processes, ${settings.soakSeconds} s, one kill -9…`);
    const soak = await runLoad(context, { apis: 2, workers: 2 }, { seconds: settings.soakSeconds, warmupSeconds: 0, kill: true });
    console.log(renderLine(soak));

    const minutes = (Date.now() - startedAt) / 60_000;
    writeSection(settings.report, 'processes', renderReport({ settings, machine, scaling, soak, minutes, database: embedded ? 'embedded, server defaults' : 'BENCH_DATABASE_URL' }));
    console.log(`\nwritten: ${path.relative(process.cwd(), settings.report)} (the run took ${f1(minutes)} min)`);
    const failed = [...scaling, soak].flatMap((run) => run.checks.filter((check) => !check.ok).map((check) => `${label(run)}: ${check.name}`));
    const crashed = [...scaling, soak].flatMap((run) => run.unexpectedExits);
    if (failed.length > 0 || crashed.length > 0) {
      console.error(`bench: FAILED: ${[...failed, ...crashed].join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    await cleanup();
  }
}

/** One configuration on its own database: start, seed, load (with a kill, for the soak), settle, check. */
async function runLoad(context: Context, shape: Shape, mode: { seconds: number; warmupSeconds: number; kill: boolean }): Promise<RunResult> {
  const { settings, world } = context;
  const runId = randomBytes(4).toString('hex');
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? (await context.embedded!.database(`processes_${runId}`));
  const admin = adminPool(databaseUrl);
  const fleet = await startFleet({ apis: shape.apis, admin, env: serviceEnv(context, databaseUrl) });
  const stopFleet = () => fleet.stop();
  context.cleanups.push(stopFleet);
  try {
    const apiUrls = fleet.apis.map((api) => api.url!);
    const eventTenant = `tenant-bench-events-${runId}`;
    const seedStarted = Date.now();
    const conversationIds = await seedEscalated(context, apiUrls, eventTenant, runId);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    await fleet.startWorkers(shape.workers);
    await waitForQuiescence(admin, 120_000); // the seeding's stale drafts and escalation notices

    // A number not on record would be escalated after its second text, which ends the loop.
    const debtors = Array.from({ length: settings.debtors }, (_, i) => debtorOnRecord(`tenant-bench-debtors-${runId}`, i));
    const cpu = startCpuWindow(context.embedded?.postmasterPid ?? null);
    const shares = processShares([...fleet.apis, ...fleet.workers, { name: 'outside', pid: () => world.pid }]);
    const totalSeconds = mode.warmupSeconds + mode.seconds;
    const conversing = world.converse({
      urls: apiUrls,
      token: context.token,
      debtors,
      keyPrefix: `turn-${runId}`,
      text: DEBTOR_TEXT,
      seconds: totalSeconds,
      replyTimeoutMs: 120_000,
      postGiveUpMs: 60_000,
    });
    const killing = mode.kill ? killOneAtRandom(fleet, mode.seconds, settings.killRole) : Promise.resolve(null);
    const events = await runEventLoad(
      {
        urls: apiUrls,
        token: context.token,
        conversationIds,
        connections: settings.connections,
        seconds: mode.seconds,
        warmupSeconds: mode.warmupSeconds,
        keyPrefix: `event-${runId}-`,
        recordAcknowledged: true,
      },
      () => {
        cpu.restart();
        shares.restart();
      },
    );
    const windowSeconds = (events.measuredTo - events.measuredFrom) / 1000;
    const used = cpu.stop(windowSeconds);
    const cores = os.availableParallelism();
    const byProcess = shares.stop(windowSeconds * 1000, cores);
    const [turns, kill] = await Promise.all([conversing, killing]);

    const quiescence = await waitForQuiescence(admin, 180_000);
    const sends = await world.sends(null);
    const checks = await checkInvariants(admin, {
      acknowledgedKeys: [...events.acknowledged, ...turns.turns.filter((turn) => turn.ackedAt !== null).map((turn) => turn.key)],
      tenants: [eventTenant, ...debtors.map((debtor) => debtor.tenant)],
      debtors,
      sends,
    });
    if (!quiescence.reached) checks.push({ name: 'job queue quiet afterwards', ok: false, detail: `${quiescence.busyJobs} jobs still due or locked after ${f0(quiescence.waitedMs / 1000)} s` });
    const inWindow = turnsIn(turns, events.measuredFrom, events.measuredTo);
    const wallMs = windowSeconds * 1000 * cores; // every core's worth of CPU time in the window
    return {
      shape,
      windowSeconds,
      events,
      eventsPerSecond: events.ok2xx / windowSeconds,
      turnsPerSecond: inWindow.length / windowSeconds,
      turnMs: percentiles(inWindow),
      turnsInWindow: inWindow.length,
      debtorStatuses: turns.statuses,
      debtorsStopped: stoppedEarly(turns, events.measuredTo),
      cpu: {
        machinePercent: (used.machineMs / wallMs) * 100,
        postgresPercent: used.postgresMs === null ? null : (used.postgresMs / wallMs) * 100,
        byProcess,
      },
      seedSeconds,
      kill,
      quiescence,
      checks,
      unexpectedExits: fleet.unexpectedExits,
    };
  } finally {
    context.cleanups.remove(stopFleet);
    await fleet.stop();
    await admin.end();
  }
}

/** The environment of every service process: one database, the outside world's services, nothing tuned. */
function serviceEnv(context: Context, databaseUrl: string): Record<string, string> {
  const { urls } = context.world;
  return {
    NODE_ENV: 'development', // production would refuse the simulators' plain-HTTP development setup
    DATABASE_URL: databaseUrl,
    JWT_SECRET: context.jwtSecret,
    COLLECTIONS_MONITOR_URL: urls.collectionsMonitor,
    SMS_AGENT_URL: urls.smsAgent,
    NOTIFICATION_SERVICE_URL: urls.notificationService,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: urls.openAi,
    LOG_LEVEL: 'silent',
    // Every hour is a calling hour: the bench must not depend on when it runs.
    CALLING_HOURS_START: '0',
    CALLING_HOURS_END: '24',
    // A debtor here texts dozens of times a minute; the default cap (10 replies a day) would hold replies back.
    CAP_REPLIES_PER_DAY: '1000',
  };
}

/**
 * N conversations the event load posts to, each created by a first text and then escalated: in `escalated`
 * an `sms.received` is applied (stored, audited) and starts no draft. Seeded through the API, before any
 * worker runs, so the drafts the first texts asked for are stale by the time a worker sees them.
 */
async function seedEscalated(context: Context, urls: string[], tenant: string, runId: string): Promise<string[]> {
  const ids = Array.from({ length: context.settings.conversations }, (_, i) => `bench-${runId}-${i}`);
  const post = async (url: string, id: string, key: string, body: object) => {
    const response = await fetch(`${url}/v1/conversations/${id}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${context.token}`, 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 202) throw new Error(`seeding ${id}: ${response.status} ${text.slice(0, 200)}`);
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async (_, lane) => {
      const url = urls[lane % urls.length]!;
      while (next < ids.length) {
        const i = next++;
        const id = ids[i]!;
        // +1 555 8nn nnnn: fictional numbers, apart from the debtors'.
        await post(url, id, `seed-${id}`, { type: 'sms.received', text: 'Hello', tenant_id: tenant, phone_number: `+15558${String(i).padStart(6, '0')}` });
        await post(url, id, `seed-escalate-${id}`, { type: 'staff.escalate', reason: 'bench: a person owns this conversation' });
      }
    }),
  );
  return ids;
}

/** At a random moment in the middle of the load, SIGKILL one random process and start it again. */
async function killOneAtRandom(fleet: Fleet, seconds: number, role: Settings['killRole']): Promise<Kill> {
  const candidates = role === 'api' ? fleet.apis : role === 'worker' ? fleet.workers : [...fleet.apis, ...fleet.workers];
  const victim = candidates[randomInt(candidates.length)]!;
  const atSecond = (seconds * (15 + randomInt(61))) / 100; // between 15% and 75% of the run
  await new Promise((resolve) => setTimeout(resolve, atSecond * 1000));
  console.log(`bench: kill -9 ${victim.name} (pid ${victim.pid()}) at ${f1(atSecond)} s`);
  victim.kill9();
  const readyAfterMs = await victim.restart();
  console.log(`bench: ${victim.name} restarted, ready after ${f1(readyAfterMs / 1000)} s`);
  return { victim: victim.name, atSecond, readyAfterMs };
}

function killRole(text: string | undefined): Settings['killRole'] {
  if (text === undefined || text === '') return null;
  if (text === 'api' || text === 'worker') return text;
  throw new Error(`BENCH_KILL_ROLE must be api or worker (unset: either), got ${text}`);
}

function adminPool(connectionString: string) {
  const pool = new pg.Pool({ connectionString, max: 2, application_name: 'bench-admin' });
  pool.on('error', () => {});
  return pool;
}

/** Turn times (POST → reply) of the turns whose reply arrived inside the window. */
function turnsIn(seen: ConverseSeen, from: number, to: number): number[] {
  return seen.turns.filter((turn) => turn.repliedAt !== null && turn.repliedAt >= from && turn.repliedAt <= to).map((turn) => turn.repliedAt! - turn.postedAt);
}

/** Debtors that gave up before the end (a text never acknowledged, or no reply in time). */
function stoppedEarly(seen: ConverseSeen, end: number): number {
  const last = new Map<string, (typeof seen.turns)[number]>();
  for (const turn of seen.turns) last.set(turn.phone, turn);
  return [...last.values()].filter((turn) => turn.postedAt < end && (turn.ackedAt === null || turn.repliedAt === null)).length;
}

const label = (run: RunResult) => `${run.shape.apis} API + ${run.shape.workers} worker${run.shape.workers === 1 ? '' : 's'}${run.kill ? ' (soak, kill -9)' : ''}`;
const checksCell = (run: RunResult) => (run.checks.every((check) => check.ok) ? 'ok' : `**FAILED** (${run.checks.filter((check) => !check.ok).length})`);
const refusals = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ') || 'none';

interface ProcessShare {
  name: string;
  /** Null for a process that was started again in the window (the soak's victim). */
  usage: {
    /** % of the machine (all its cores) over the window. */
    percent: number;
    /** Context switches per second: it waited (I/O, a lock), and the scheduler took its core away. */
    voluntaryPerSecond: number;
    involuntaryPerSecond: number;
  } | null;
}

/**
 * Each process's share of the machine over the measured window, from /proc, and how often it gave up its core
 * or had it taken: which process took the CPU when events/s moves between runs of one code (the total alone
 * cannot say), and how much the processes on two cores interrupt each other.
 */
function processShares(processes: { name: string; pid(): number }[]) {
  // One pid per reading: a process started again between two reads of it would mix two processes' counters.
  const sample = () =>
    new Map(
      processes.map(({ name, pid }) => {
        const id = pid();
        return [name, { pid: id, usage: processUsage(id) }];
      }),
    );
  let start = sample();
  return {
    restart() {
      start = sample();
    },
    /** `ms`: the measured window, as the machine's share counts it. */
    stop(ms: number, cores: number): ProcessShare[] {
      return [...sample()].map(([name, now]) => {
        const then = start.get(name)!;
        if (then.pid !== now.pid || then.usage === null || now.usage === null) return { name, usage: null };
        return {
          name,
          usage: {
            percent: ((now.usage.cpuMs - then.usage.cpuMs) / (ms * cores)) * 100,
            voluntaryPerSecond: ((now.usage.voluntarySwitches - then.usage.voluntarySwitches) * 1000) / ms,
            involuntaryPerSecond: ((now.usage.involuntarySwitches - then.usage.involuntarySwitches) * 1000) / ms,
          },
        };
      });
    },
  };
}

/** `api-1 13% (7 + 190)`: its share of the machine, then its voluntary + involuntary context switches per second. */
const sharesText = (shares: ProcessShare[]) =>
  shares
    .map(({ name, usage }) => (usage === null ? `${name} –` : `${name} ${f0(usage.percent)}% (${f0(usage.voluntaryPerSecond)} + ${f0(usage.involuntaryPerSecond)})`))
    .join(', ');

function renderLine(r: RunResult) {
  return `  ${label(r)}: events ${f0(r.eventsPerSecond)}/s (p50 ${f1(r.events.latencyMs.p50)} ms, p95 ${f1(r.events.latencyMs.p95)} ms; errors ${r.events.errors + r.events.timeouts}, non-2xx ${r.events.non2xx}); turns ${f1(r.turnsPerSecond)}/s (p50 ${f0(r.turnMs.p50)} ms, p95 ${f0(r.turnMs.p95)} ms; refusals ${refusals(r.debtorStatuses)}); CPU ${f0(r.cpu.machinePercent)}% of the machine (PostgreSQL ${r.cpu.postgresPercent === null ? '–' : f0(r.cpu.postgresPercent)}%; by process, % (context switches/s, voluntary + involuntary): ${sharesText(r.cpu.byProcess)})${r.kill ? `; killed ${r.kill.victim} at ${f1(r.kill.atSecond)} s, ready again after ${f1(r.kill.readyAfterMs / 1000)} s` : ''}
${r.checks.map((check) => `    ${check.ok ? 'ok    ' : 'FAILED'} ${check.name}: ${check.detail}`).join('\n')}${r.unexpectedExits.map((exit) => `\n    FAILED unexpected exit: ${exit}`).join('')}`;
}

function renderReport(r: { settings: Settings; machine: MachineInfo; scaling: RunResult[]; soak: RunResult; minutes: number; database: string }) {
  const s = r.settings;
  const row = (run: RunResult) =>
    `| ${label(run)} | **${f0(run.eventsPerSecond)}** | ${f1(run.events.latencyMs.p50)} / ${f1(run.events.latencyMs.p95)} | ${run.events.errors + run.events.timeouts} / ${run.events.non2xx} | **${f1(run.turnsPerSecond)}** | ${f0(run.turnMs.p50)} / ${f0(run.turnMs.p95)} | ${refusals(run.debtorStatuses)} | ${f0(run.cpu.machinePercent)}% (${run.cpu.postgresPercent === null ? '–' : `${f0(run.cpu.postgresPercent)}%`}) | ${sharesText(run.cpu.byProcess)} | ${checksCell(run)} |`;
  const [one, two] = r.scaling;
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '–');
  const soak = r.soak;
  return `# Benchmarks: more processes

\`npm run bench:processes\` (\`bench/processes.bench.ts\`; \`npm run bench\` runs it last). One PostgreSQL, the real
service as separate OS processes on one \`DATABASE_URL\`: API processes (\`src/main.ts\` with \`RUN_WORKER=0\`, a
port each) and worker processes (\`src/worker-main.ts\`), run through tsx, every setting at its default (pool
of ${POOL_SIZE} each, \`WORKER_CONCURRENCY\` 100) except \`LOG_LEVEL=silent\`, calling hours 0–24 (the run must not depend
on the hour) and \`CAP_REPLIES_PER_DAY=1000\` (a debtor here texts dozens of times a minute). The simulators and an
OpenAI-compatible stub (every completion after ${f0(s.modelDelayMs)} ms, through the real SDK) run in their own process.
Two loads at once:

- **Events** (the API side): autocannon, in its own process, ${s.connections} connections split evenly across the API
  processes, posts \`sms.received\` events (\`POST /v1/conversations/{id}/events\`, service JWT, a fresh
  Idempotency-Key each) to random ones of ${f0(s.conversations)} conversations seeded in \`escalated\`: each event is
  applied (inbox row, message, transition, snapshot); for the workers it leaves only the staff's "the debtor wrote"
  notice, one per conversation while it waits, which runs after the debtors' drafts (until 2026-12-05 one per
  event, ahead of the drafts: the eleventh pass in the turns section).
- **Turns** (the worker side): ${f0(s.debtors)} debtors text through \`POST /orchestrate/sms-received\` (debtor i on API
  process i mod n) and each texts again as soon as the SMS Agent simulator has received its reply (a closed
  loop). A turn is a draft (one model call) and a send. turns/s counts replies that arrived in the window; a
  turn is timed from its POST to its reply. A refused POST (a network error, 5xx) is sent again after 0.5 s
  with the same key to the next API process.

**Scaling**: 1 API + 1 worker, then 2 API + 2 workers, each on a fresh database of the same server, each
${s.warmupSeconds} s of warm-up then ${s.seconds} s measured. **Soak**: 2 + 2 under the same loads for ${s.soakSeconds} s; at a random
moment (15–75% of the way) one random process, API or worker, gets SIGKILL and is started again at once.

After every run (the scaling runs too) the bench waits until no job is due or locked (a dead worker's jobs
are released by another worker's sweep within \`WORKER_SWEEP_INTERVAL\` + 5 s), then checks, and exits with
status 1 if any check fails: every Idempotency-Key answered with a 2xx (events and texts) has exactly one inbox
row (\`applied\` or \`recorded\`) and one inbound message; every debtor received at the SMS Agent exactly as many
replies as the service took texts from them (each debtor waits for a reply before texting again, so no two
texts share a turn), and nobody else got a text; no send's Idempotency-Key arrived twice and none came without
one; every conversation waits only for invokes and timers whose job is still in the queue (in a resting state
it waits for none); no job used up its tries.

\`\`\`sh
npm run bench:processes                                         # the Results line says how long its last run took
BENCH_SOAK_SECONDS=10 BENCH_SECONDS=5 npm run bench:processes   # a quick look
BENCH_KILL_ROLE=api npm run bench:processes                     # the soak kills an API process (worker: a worker)
\`\`\`

Settings: \`BENCH_SECONDS\` (20, each scaling window), \`BENCH_WARMUP_SECONDS\` (3), \`BENCH_SOAK_SECONDS\` (60),
\`BENCH_CONNECTIONS\` (100, event load), \`BENCH_CONVERSATIONS\` (1000, event conversations), \`BENCH_DEBTORS\` (100),
\`BENCH_MODEL_DELAY_MS\` (1000), \`BENCH_KILL_ROLE\` (unset: either kind), \`BENCH_DATABASE_URL\` (an existing server
instead of the embedded one; it writes there), \`BENCH_REPORT\` (this file). With the embedded server's 100 connections, 2 + 2 processes of ${POOL_SIZE}
(80, plus the workers' 2 × ${GROUP_COMMIT_IN_FLIGHT} group commit sessions and 4 of the bench's own) fit, with room for a restarted process while the killed one's backends close
(they do at once: the kernel closes a killed process's sockets); the bench refuses to start on a server with fewer.

## Results (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; the whole run took ${f1(r.minutes)} min)

${describeMachineLine(r.machine)}
PostgreSQL: ${r.machine.postgres}; ${r.database}; max_connections=${r.machine.maxConnections}, synchronous_commit=${r.machine.synchronousCommit}.
The machine is shared with other work: these are the numbers of one run, not a property of the service alone.

| processes | events/s | event p50 / p95 ms | errors / non-2xx | turns/s | turn p50 / p95 ms | debtor POSTs refused | CPU busy (PostgreSQL) | CPU by process, % of the machine (context switches/s: voluntary + involuntary) | checks |
| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |
${[...r.scaling, soak].map(row).join('\n')}

2 + 2 against 1 + 1: events/s × ${ratio(two!.eventsPerSecond, one!.eventsPerSecond)}, turns/s × ${ratio(two!.turnsPerSecond, one!.turnsPerSecond)}. CPU busy is the
machine's (all ${r.machine.cpus} cores, every process) over the measured window, and PostgreSQL's part of it; by process,
each API process's and worker's share, and the outside world's (simulators, model stub and debtors; the event load,
in a process of its own, is in neither), \`–\` for a process started again in the window, with how often per second
each gave up its core (voluntary: it waited) or had it taken by the scheduler (involuntary). On ${r.machine.cpus} cores every
process, PostgreSQL and the load share the same CPUs: a second API process or worker can only win where one
process's single event loop, not the machine, was the limit; with more cores than processes it also adds CPU.

Soak: ${soak.kill ? `\`kill -9\` of **${soak.kill.victim}** at ${f1(soak.kill.atSecond)} s; it was ready again ${f1(soak.kill.readyAfterMs / 1000)} s later` : 'no kill'};
the queue was quiet ${f0(soak.quiescence.waitedMs / 1000)} s after the load ended. ${f0(soak.events.acknowledged.length)} events acknowledged with a 2xx, ${f0(soak.events.errors + soak.events.timeouts)} event
requests failed (connection errors or timeouts: those in flight to a killed API process, and its refused
connections until it was back); debtor POSTs by answer: ${Object.entries(soak.debtorStatuses).map(([status, n]) => `${status}: ${f0(n)}`).join(', ') || 'none'}; ${soak.debtorsStopped} debtors gave up
on a text. The soak has no warm-up: its turns include the new processes' first, slow ones. While a killed API
process is down, autocannon's connections to it retry at once and fail (counted as errors, and costing CPU).

| check (soak) | result | counted |
| --- | --- | --- |
${soak.checks.map((check) => `| ${check.name} | ${check.ok ? 'ok' : '**FAILED**'} | ${check.detail} |`).join('\n')}
${soak.unexpectedExits.length > 0 ? `\nProcesses that exited on their own: ${soak.unexpectedExits.join('; ')}\n` : ''}`;
}

await main();
