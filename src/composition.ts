import type { Server } from 'node:http';
import type { Express } from 'express';
import { conversationMachine, createPlanDelays, createRoutingGuards, type ConversationMachine } from '../machines/conversation/conversation.machine.js';
import { createApp } from './app.js';
import { findConsoleAssets } from './http/console.routes.js';
import type { Config } from './config.js';
import type pg from 'pg';
import { connectionKeepsSessions, createDb, createPool, WRITER_SESSIONS, type Db, type PoolOptions } from './db/database.js';
import { migrateDatabase } from './db/migrate.js';
import { startEmbeddedPostgres } from './db/embedded.js';
import { createActivities, createEffects } from './adapters/activities.js';
import { createServiceClients, type ResilienceOptions } from './adapters/clients/index.js';
import type { Drafter } from './adapters/drafting/drafter.js';
import { createOpenAiDrafter } from './adapters/drafting/openai.drafter.js';
import { createRulesDrafter } from './adapters/drafting/rules.drafter.js';
import { createAuthenticator, signToken } from './http/auth.js';
import { createDependencyProbe } from './http/dependency-health.js';
import { gracefulCloser } from './http/graceful-close.js';
import type { Logger } from './logger.js';
import { createMetrics, eventLabel, lastGood, recordCall, stateLabel, turnOf, type Metrics } from './metrics.js';
import { readBacklog } from './runtime/backlog.js';
import { createMetricsApp, metricsAuth } from './http/metrics.routes.js';
import { createConversationInspector, type ConversationInspector } from './inspect/conversation-inspector.js';
import { DEFAULT_COMPLIANCE, type CompliancePolicy } from './policies/compliance.js';
import { createRuntime, type Runtime } from './runtime/apply-event.js';
import { GROUP_COMMIT_IN_FLIGHT } from './runtime/group-commit.js';
import { jobAnnouncer } from './runtime/job-queue.js';
import { actionRouting } from './runtime/projections.js';
import { startWorker, type WorkerHandle } from './runtime/worker.js';
import { startSimulators, type RunningSimulators } from './simulators/index.js';

/** Sessions of the pool kept open when idle (docs/architecture.md §5): enough for one event, its read and the announcement of its jobs. */
const KEEP_OPEN = 2;

/** A scrape waits this long for the database's backlog, then reports the last values it read. */
const BACKLOG_READ_TIMEOUT_MS = 2_000;

/**
 * Builds the whole service from a Config: database (embedded when no DATABASE_URL), migrations, the
 * three downstream services (simulated when their URLs are unset), the drafter, the runtime, the
 * worker and the HTTP app. main.ts, worker-main.ts, the end-to-end tests and the benchmark share it.
 */

export interface Orchestrator {
  config: Config;
  db: Db;
  runtime: Runtime;
  machine: ConversationMachine;
  metrics: Metrics;
  simulators: RunningSimulators | null;
  worker: WorkerHandle | null;
  server: Server | null;
  /** Where the HTTP server listens, when it does. */
  url: string | null;
  /** Where METRICS_PORT's server listens, when it is set. */
  metricsUrl: string | null;
  databaseUrl: string;
  /** Whether this process sends the write path's statements as prepared statements (DB_PREPARED_STATEMENTS, decided at start). */
  preparedStatements: boolean;
  close(): Promise<void>;
}

export function configuredMachine(config: Config, clock: () => number = Date.now): ConversationMachine {
  return conversationMachine.provide({
    guards: createRoutingGuards(config.routing),
    delays: { noReply: config.timers.noReplyMs, approvalSla: config.timers.approvalSlaMs, ...createPlanDelays(clock) },
  }) as ConversationMachine;
}

/** The content policy with what the deployment configures: the agency's name, the SMS budget, fees. */
export function compliancePolicy(config: Config): CompliancePolicy {
  return Object.freeze({
    ...DEFAULT_COMPLIANCE,
    agencyName: config.compliance.agencyName,
    maxSegments: config.compliance.maxSegments,
    allowFees: config.compliance.allowFees,
  });
}

export function createDrafter(config: Config, logger: Logger, metrics?: Metrics): Drafter {
  const compliance = compliancePolicy(config);
  if (!config.openai.apiKey) {
    logger.warn('OPENAI_API_KEY is not set: drafting with the offline "rules" drafter (deterministic, not a model)');
    return createRulesDrafter({ compliance });
  }
  logger.info({ model: config.openai.model, baseUrl: config.openai.baseUrl ?? 'default' }, 'drafting with OpenAI');
  return createOpenAiDrafter({
    apiKey: config.openai.apiKey,
    baseUrl: config.openai.baseUrl,
    model: config.openai.model,
    timeoutMs: config.openai.timeoutMs,
    logger,
    compliance,
    observe: metrics && (({ outcome, seconds, usage }) => {
      const model = config.openai.model;
      recordCall(metrics, 'openai', outcome, seconds);
      metrics.openaiSeconds.observe({ model, outcome }, seconds);
      if (usage) {
        metrics.openaiTokens.inc({ model, kind: 'prompt' }, usage.promptTokens);
        metrics.openaiTokens.inc({ model, kind: 'completion' }, usage.completionTokens);
      }
    }),
  });
}

export async function startOrchestrator(
  config: Config,
  logger: Logger,
  options: {
    http?: boolean;
    worker?: boolean;
    invokeMaxAttempts?: number;
    onLivenessLost?: (error: Error) => void;
    /** Milliseconds since the epoch, for the plan's dates and timers; tests move it forward. */
    clock?: () => number;
    /** Retry and breaker settings of the downstream clients (tests shorten the breaker's 10 s). */
    resilience?: ResilienceOptions;
  } = {},
): Promise<Orchestrator> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((error) => logger.error({ err: error }, 'shutdown step failed'));
  };
  try {
    let databaseUrl = config.databaseUrl;
    let directUrl = config.databaseDirectUrl;
    if (!databaseUrl || !directUrl) {
      const embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.embeddedPgPort,
        onLeftover: (message) => logger.warn({ dataDir: config.dataDir }, message),
      });
      logger.warn({ dataDir: config.dataDir, port: config.embeddedPgPort }, 'DATABASE_URL is not set: running an embedded PostgreSQL');
      closers.push(embedded.stop);
      databaseUrl = directUrl = embedded.url;
    }
    const runsWorker = options.worker ?? config.worker.run;
    const poolOptions = {
      caCert: config.databaseCaCert,
      onIdleError: (error: Error) => logger.warn({ err: error }, 'idle database client failed'),
    };
    // A worker needs a session of its own (LISTEN, its liveness session): it goes direct, past a transaction
    // pooler, and so does everything else in its process. HTTP-only processes use DATABASE_URL, pooled or not.
    const processUrl = runsWorker ? directUrl : databaseUrl;
    const prepareStatements = await choosePreparedStatements(config.preparedStatements, runsWorker, processUrl, poolOptions, logger);
    // Events come one at a time in quiet hours: a few sessions stay open (and their statements planned) between them.
    const pool = createPool(processUrl, { ...poolOptions, max: config.dbPoolSize, keepOpen: Math.min(KEEP_OPEN, config.dbPoolSize), prepareStatements });
    const db = createDb(pool);
    closers.push(() => db.destroy());
    // With prepared statements, the group commit writes on sessions of its own, where its one statement is
    // planned once (docs/architecture.md §5): GROUP_COMMIT_IN_FLIGHT connections beside the pool.
    const writer = prepareStatements
      ? createDb(createPool(processUrl, { ...poolOptions, ...WRITER_SESSIONS, max: GROUP_COMMIT_IN_FLIGHT, keepOpen: GROUP_COMMIT_IN_FLIGHT }))
      : undefined;
    if (writer) closers.push(() => writer.destroy());
    const applied = await migrateOver(runsWorker || directUrl === databaseUrl ? { db, pool } : null, directUrl, poolOptions);
    if (applied.length > 0) logger.info({ migrations: applied }, 'migrations applied');

    let simulators: RunningSimulators | null = null;
    const { services: urls } = config;
    if (!urls.collectionsMonitor || !urls.smsAgent || !urls.notificationService) {
      // Production never starts simulators (config requires the URLs); should one ever, its faults stay shut.
      simulators = await startSimulators({ basePort: urls.simulatorBasePort, logger, faultControl: config.env !== 'production' });
      closers.push(() => simulators!.close());
    }
    // Never the inbound secret: whoever receives (or logs) this token could otherwise call our API with it.
    const serviceToken = cachedServiceToken(config.outboundJwt.secret, config.outboundJwt.audience);
    const serviceUrls = {
      collectionsMonitor: urls.collectionsMonitor ?? simulators!.urls.collectionsMonitor,
      smsAgent: urls.smsAgent ?? simulators!.urls.smsAgent,
      notificationService: urls.notificationService ?? simulators!.urls.notificationService,
    };
    const metrics = createMetrics();
    const clients = createServiceClients({
      urls: serviceUrls,
      timeoutMs: urls.timeoutMs,
      token: serviceToken,
      logger,
      onCall: (service, outcome, seconds) => recordCall(metrics, service, outcome, seconds),
      resilience: options.resilience,
    });
    metrics.readFrom({
      breakers: clients.breakers,
      backlog: lastGood(() => readBacklog(db), {
        timeoutMs: BACKLOG_READ_TIMEOUT_MS,
        freshMs: 1_000,
        onFailure: (reason, error) => {
          metrics.backlogReadFailures.inc({ reason });
          logger.warn({ reason, err: error }, 'metrics: reading the job queue and approvals failed; their gauges keep the last values');
        },
      }),
    });

    const drafter = createDrafter(config, logger, metrics);
    const clock = options.clock ?? Date.now;
    const machine = configuredMachine(config, clock);
    let inspector: ConversationInspector | null = null;
    if (config.inspect.enabled) {
      inspector = createConversationInspector({
        machine,
        db,
        url: config.inspect.url,
        port: config.inspect.port,
        includePii: config.inspect.includePii,
        onError: (error) => logger.warn({ err: error }, 'inspector mirror failed'),
      });
      closers.push(() => inspector!.close());
      logger.warn(
        { url: inspector.url, page: config.inspect.url ? null : `http://localhost:${config.inspect.port}`, pii: config.inspect.includePii },
        'INSPECT is on: committed transitions are mirrored to the Stately inspector',
      );
    }
    const base = createRuntime({
      db,
      machine,
      actions: actionRouting,
      rememberConversations: config.conversationCacheSize ?? defaultConversationMemory(options.worker ?? config.worker.run),
      // Jobs are written without add_jobs' notification; the workers of every process hear of them after commit.
      groupCommit: { writer, onBatch: (size) => metrics.eventBatchSize.observe(size) },
      // Fence transactions hold a connection while the SMS Agent answers: a quarter of the pool at most, so that a
      // hanging agent cannot take the pool from the events and the other jobs.
      handOffsInFlight: Math.max(1, Math.floor(config.dbPoolSize / 4)),
      onJobsWritten: jobAnnouncer(pool, (error) => logger.warn({ err: error }, 'announcing new jobs failed; workers find them at their next poll')),
      onCommitted: (transitions) => {
        for (const step of transitions) {
          metrics.transitions.inc({ from: stateLabel(step.from), to: stateLabel(step.to) });
          const turn = turnOf(step, clock());
          if (turn) metrics.turnSeconds.observe({ decided_by: turn.decidedBy }, turn.seconds);
        }
        inspector?.mirror(transitions);
      },
    });
    const runtime = instrument(base, metrics, 'http');

    let worker: WorkerHandle | null = null;
    if (runsWorker) {
      const deps = {
        db,
        services: clients.services,
        drafter,
        logger,
        managersRecipient: config.managersRecipient,
        compliance: compliancePolicy(config),
        negotiation: config.negotiation,
        contactWindow: config.contactWindow,
        frequencyCaps: config.frequencyCaps,
        identityCheck: config.identityCheck,
        onComplianceDecision: (rule: string, decision: string) => metrics.complianceDecisions.inc({ rule, decision }),
        clock,
      };
      worker = await startWorker({
        pool,
        runtime: instrument(base, metrics, 'worker'),
        activities: createActivities(deps),
        effects: createEffects(deps),
        logger,
        concurrency: config.worker.concurrency,
        sweepIntervalMs: config.worker.sweepIntervalMs,
        sendRetryWindowMs: config.worker.sendRetryWindowMs,
        onLivenessLost: options.onLivenessLost,
        invokeMaxAttempts: options.invokeMaxAttempts,
        observeJob: (task, outcome, seconds) => {
          metrics.jobSeconds.observe({ task, outcome }, seconds);
          if (outcome === 'failed') metrics.jobFailures.inc({ task });
        },
      });
      closers.push(() => worker!.stop());
    }

    // How inbound tokens are verified and scoped (docs/auth.md): the API's and the metrics port's.
    const authOptions = { secret: config.jwtSecret, maxAgeMs: config.jwtMaxAgeMs, ...config.auth };
    let server: Server | null = null;
    let url: string | null = null;
    if (options.http ?? true) {
      const app = createApp({
        db,
        runtime,
        machine,
        compliance: compliancePolicy(config),
        auth: authOptions,
        metricsToken: config.metrics.token,
        conversationIdSecret: config.conversationIdSecret,
        logger,
        metrics,
        dependencies: {
          breakers: clients.breakers,
          simulated: simulators !== null,
          worker: worker && (() => worker!.health()),
          drafter: drafter.name,
          probe: createDependencyProbe({
            db,
            serviceUrls: {
              collections_monitor: serviceUrls.collectionsMonitor,
              sms_agent: serviceUrls.smsAgent,
              notification_service: serviceUrls.notificationService,
            },
            breakers: clients.breakers,
            lastOutcome: clients.lastOutcome,
            openai: drafter.name === 'openai' ? { apiKey: config.openai.apiKey, baseUrl: config.openai.baseUrl } : null,
          }),
        },
        plans: { db, collectionsMonitor: clients.services.collectionsMonitor, negotiation: config.negotiation, clock },
        clock,
        console: { devSignIn: config.consoleDevSignIn ? { secret: config.jwtSecret, ...config.auth } : null },
      });
      ({ server, url } = await listen(app, config.port, config.httpKeepAliveMs));
      closers.push(gracefulCloser(server));
      logger.info({ url }, 'orchestrator listening');
      const banner = startupBanner({ url, config, simulators: simulators?.urls ?? null, drafter: drafter.name, worker: worker !== null, consoleBuilt: findConsoleAssets() !== null });
      logger.info(banner.fields, banner.message);
    }

    let metricsUrl: string | null = null;
    if (config.metrics.port !== undefined) {
      const guard = metricsAuth(config.metrics.token, createAuthenticator(authOptions));
      const metricsServer = await listen(createMetricsApp(metrics.registry, guard, logger), config.metrics.port, config.httpKeepAliveMs);
      closers.push(gracefulCloser(metricsServer.server));
      metricsUrl = metricsServer.url;
      logger.info({ url: `${metricsUrl}/metrics` }, 'metrics served on their own port');
    }

    return { config, db, runtime, machine, metrics, simulators, worker, server, url, metricsUrl, databaseUrl, preparedStatements: prepareStatements, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Migrations take locks and run DDL: on the direct connection. A process whose own pool is not on it (an
 * HTTP-only replica on a pooled DATABASE_URL) opens a short-lived one for them.
 */
async function migrateOver(direct: { db: Db; pool: pg.Pool } | null, directUrl: string, options: PoolOptions): Promise<string[]> {
  if (direct) return migrateDatabase(direct.db, direct.pool);
  const pool = createPool(directUrl, { ...options, max: 2 });
  const db = createDb(pool);
  try {
    return await migrateDatabase(db, pool);
  } finally {
    await db.destroy();
  }
}

/** Serves `app` on `port` (0: a free one); the URL names the port it got. */
async function listen(app: Express, port: number, keepAliveMs: number): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, () => resolve(listening)).once('error', reject);
  });
  // Node keeps an idle connection 5 s. A client back after that opens new ones, and a busy process accepts one
  // new connection per turn of its event loop (libuv since 1.45): a burst of 100 texts on new connections was
  // taken in over 0.5-0.9 s instead of 0.1 (docs/benchmarks.md, the eleventh pass). headersTimeout stays above
  // it, the usual advice behind a load balancer: below it, a reused connection could be cut mid-headers.
  server.keepAliveTimeout = keepAliveMs;
  server.headersTimeout = Math.max(server.headersTimeout, keepAliveMs + 1_000);
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}` };
}

/**
 * A process with a worker writes most of its conversations' events (a turn's draft and send results, and in
 * one process the texts too), so remembering them saves a read each. An API-only process alternates with
 * the workers on every conversation: its memory would nearly always be one version behind, costing a
 * statement instead of saving one, so it remembers nothing unless told to (docs/architecture.md §2).
 */
const CONVERSATIONS_REMEMBERED = 10_000;
/** How long an HTTP-only process waits, at start, for the notification that proves its connection keeps sessions. */
const SESSION_PROBE_TIMEOUT_MS = 2_000;

/**
 * Whether the write path's statements go as named prepared statements, parsed and planned once per connection
 * (DB_PREPARED_STATEMENTS). Only where the connection keeps its session: behind a transaction-mode pooler the
 * next transaction may get a server connection that never heard the name. `auto`: a process with a worker does
 * (its worker proves at start that its connection keeps sessions, or refuses to start); an HTTP-only process
 * asks its connection the same question now, and prepares on a direct connection or a session-mode pooler.
 */
async function choosePreparedStatements(
  setting: Config['preparedStatements'],
  runsWorker: boolean,
  processUrl: string,
  poolOptions: Pick<PoolOptions, 'caCert' | 'onIdleError'>,
  logger: Logger,
): Promise<boolean> {
  if (setting !== 'auto') return setting === 'on';
  if (runsWorker) return true;
  const keeps = await connectionKeepsSessions(processUrl, poolOptions, SESSION_PROBE_TIMEOUT_MS);
  logger.info(
    { preparedStatements: keeps },
    keeps
      ? 'the database connection keeps its sessions: statements are prepared'
      : 'the database connection does not keep its sessions (a transaction-mode pooler?): statements are not prepared',
  );
  return keeps;
}

function defaultConversationMemory(runsWorker: boolean) {
  return runsWorker ? CONVERSATIONS_REMEMBERED : 0;
}

/** Counts every event by type and outcome and times it; the label sets stay bounded. */
function instrument(runtime: Runtime, metrics: Metrics, source: 'http' | 'worker'): Runtime {
  return {
    machine: runtime.machine,
    isLive: runtime.isLive,
    whileLive: runtime.whileLive,
    startedBy: runtime.startedBy,
    remembers: runtime.remembers,
    async apply(envelope) {
      const stop = metrics.eventSeconds.startTimer({ source });
      try {
        const result = await runtime.apply(envelope);
        metrics.events.inc({ event_type: eventLabel(envelope.event.type), outcome: result.duplicate ? 'duplicate' : result.outcome });
        return result;
      } catch (error) {
        metrics.events.inc({ event_type: eventLabel(envelope.event.type), outcome: 'refused' });
        throw error;
      } finally {
        stop();
      }
    },
  };
}

/** Our own service token for the calls we make, re-signed well before it expires. */
function cachedServiceToken(secret: string, audience: string | undefined) {
  let token = '';
  let renewAt = 0;
  return () => {
    if (Date.now() >= renewAt) {
      token = signToken(secret, 'service', 'orchestrator', '1h', { audience });
      renewAt = Date.now() + 30 * 60_000;
    }
    return token;
  };
}

/** Where the data lives, without credentials: the embedded server's directory, or DATABASE_URL's host, port and database. */
export function describeDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'embeddedPgPort'>): string {
  if (!config.databaseUrl) return `embedded PostgreSQL in ${config.dataDir}/pg (port ${config.embeddedPgPort})`;
  try {
    const parsed = new URL(config.databaseUrl);
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname === '/' ? '' : parsed.pathname} (DATABASE_URL)`;
  } catch {
    return 'DATABASE_URL (not a URL we can show)';
  }
}

/** Compiled (the image, `npm start`), the compiled command: the image has no tsx, so no `npm run token`. */
const TOKEN_COMMAND = import.meta.url.endsWith('.js') ? 'node dist/scripts/token.js' : 'npm run --silent token --';

/**
 * The line a newcomer reads first: where the API is, how to get a token, where the docs and the simulators
 * are, which database and drafter are in use. Structured fields for machines, a readable message for people.
 */
export function startupBanner(options: {
  url: string;
  config: Config;
  simulators: Record<string, string> | null;
  drafter: string;
  worker: boolean;
  /** Whether the console's assets are built (dist/console): the banner then names its page. */
  consoleBuilt?: boolean;
}) {
  const { url, config } = options;
  const database = describeDatabase(config);
  // The page people open in a browser: the service listens on every interface, and `localhost` is what they type.
  const consoleUrl = `${url.replace('//127.0.0.1:', '//localhost:')}/console`;
  const fields = {
    url,
    console: options.consoleBuilt === false ? null : consoleUrl,
    docs: `${url}/docs`,
    openapi: `${url}/openapi.json`,
    tokens: `${TOKEN_COMMAND} service | ${TOKEN_COMMAND} manager <name>`,
    simulators: options.simulators,
    database,
    drafter: options.drafter,
    worker: options.worker,
  };
  const simulators = options.simulators
    ? `simulators ${Object.entries(options.simulators).map(([name, at]) => `${name} ${at}`).join(', ')}`
    : 'downstream services from their URLs (no simulators)';
  const message = [
    `ready at ${url}`,
    options.consoleBuilt === false ? 'console not built (npm run build)' : `console ${consoleUrl}`,
    `docs ${url}/docs`,
    `tokens: ${TOKEN_COMMAND} service, or ${TOKEN_COMMAND} manager <name>`,
    simulators,
    `database ${database}`,
    `drafter ${options.drafter}${options.worker ? ', worker in this process' : ', no worker in this process'}`,
  ].join(' · ');
  return { fields, message };
}
