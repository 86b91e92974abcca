import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startOrchestrator, type Orchestrator } from '../../src/composition.js';
import { createLogger } from '../../src/logger.js';
import { SESSION_REQUIRED_MESSAGE } from '../../src/runtime/worker.js';
import { ConfigurationError } from '../../src/startup-errors.js';
import { spawnService } from '../helpers/child-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testConfig } from '../helpers/orchestrator.js';
import { startPgbouncer, type Pgbouncer } from '../helpers/pgbouncer.js';
import { inboundText, postText, waitUntilAnswered } from '../helpers/texts.js';

/**
 * The service behind a real pgbouncer, as on Supabase (its port 5432 pooler is session mode, 6543 transaction
 * mode). A worker behind a transaction pooler once started, sent one reply, and then sat "up but silent"
 * (graphile-worker's prepared statements collide there, its LISTEN and our liveness session cannot work).
 * Now either every text is answered or the start is refused, in one line that names the fix.
 */

const TEXTS = 20;
let session: Pgbouncer;
let transaction: Pgbouncer;
const databases: TestDatabase[] = [];
const running: Orchestrator[] = [];

beforeAll(async () => {
  const serverUrl = process.env.ORCHESTRATOR_TEST_ADMIN_URL!;
  [session, transaction] = await Promise.all([
    startPgbouncer({ serverUrl, poolMode: 'session' }),
    startPgbouncer({ serverUrl, poolMode: 'transaction' }),
  ]);
});
afterAll(async () => {
  for (const service of running.reverse()) await service.close();
  for (const database of databases) await database.drop();
  await Promise.all([session?.stop(), transaction?.stop()]);
});

async function freshDatabase() {
  const database = await createTestDatabase();
  databases.push(database);
  return database;
}

async function start(env: Record<string, string>, options: { http?: boolean; worker?: boolean; logLines?: string[] } = {}) {
  const config = testConfig({ WORKER_CONCURRENCY: '4', LOG_LEVEL: options.logLines ? 'warn' : 'silent', ...env });
  const lines = options.logLines;
  const logger = createLogger({ level: config.logLevel, destination: lines ? { write: (line: string) => void lines.push(line) } : undefined });
  const service = await startOrchestrator(config, logger, { ...options, onLivenessLost: () => {} });
  running.push(service);
  return service;
}

/** A worker-only process beside an HTTP-only `api`, calling the simulators `api` runs. */
function startWorkerFor(api: Orchestrator, env: Record<string, string>) {
  const urls = api.simulators!.urls;
  return start(
    { ...env, COLLECTIONS_MONITOR_URL: urls.collectionsMonitor, SMS_AGENT_URL: urls.smsAgent, NOTIFICATION_SERVICE_URL: urls.notificationService },
    { http: false, worker: true },
  );
}

/** 20 debtors text the API; each must be answered exactly once. */
async function textAll(api: Orchestrator, db: TestDatabase, prefix: string) {
  const texts = Array.from({ length: TEXTS }, (_, n) => inboundText(prefix, n));
  const statuses = await Promise.all(texts.map((text) => postText(api.url!, text)));
  expect(statuses).toEqual(texts.map(() => 202));
  return waitUntilAnswered(db.db, api.simulators!.sms, texts);
}

describe('behind pgbouncer', () => {
  it('in session mode: one process (API and worker) answers 20 of 20 texts, once each, and never takes its own jobs for a dead worker\'s', async () => {
    const db = await freshDatabase();
    const lines: string[] = [];
    const api = await start({ DATABASE_URL: session.url(db.url), WORKER_SWEEP_INTERVAL: '1s' }, { logLines: lines });
    expect(await textAll(api, db, 'session')).toEqual(Array(TEXTS).fill(1));
    expect(lines.filter((line) => line.includes('released jobs locked by worker pools that died'))).toEqual([]);
  }, 120_000);

  it('in transaction mode: a process that runs a worker refuses to start, naming DATABASE_DIRECT_URL', async () => {
    const db = await freshDatabase();
    const refused = await start({ DATABASE_URL: transaction.url(db.url) }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toBe(SESSION_REQUIRED_MESSAGE);
    expect(SESSION_REQUIRED_MESSAGE).toMatch(/transaction-mode pooler.*DATABASE_DIRECT_URL.*RUN_WORKER=0/);
  }, 60_000);

  it('in transaction mode, the worker-only entry point exits 2 with that one line on stderr', async () => {
    const db = await freshDatabase();
    const child = spawnService('src/worker-main.ts', { DATABASE_URL: transaction.url(db.url), LOG_LEVEL: 'info' });
    let stderr = '';
    child.process.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.process.once('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([`could not start: ${SESSION_REQUIRED_MESSAGE}`]);
  }, 60_000);

  it('with DATABASE_URL on the transaction pooler and DATABASE_DIRECT_URL direct: an HTTP-only API and a worker answer 20 of 20', async () => {
    const db = await freshDatabase();
    const pooled = transaction.url(db.url);
    const api = await start({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: db.url, RUN_WORKER: '0' }, { worker: false });
    // DB_PREPARED_STATEMENTS=auto: the check at start hears no notification through this pooler.
    expect(api.preparedStatements).toBe(false);
    await startWorkerFor(api, { DATABASE_URL: pooled, DATABASE_DIRECT_URL: db.url });
    expect(await textAll(api, db, 'split')).toEqual(Array(TEXTS).fill(1));
  }, 120_000);

  it('with DATABASE_URL on the session pooler: an HTTP-only API prepares its statements (auto), and it and a worker answer 20 of 20', async () => {
    const db = await freshDatabase();
    const api = await start({ DATABASE_URL: session.url(db.url), RUN_WORKER: '0' }, { worker: false });
    expect(api.preparedStatements).toBe(true);
    await startWorkerFor(api, { DATABASE_URL: db.url });
    expect(await textAll(api, db, 'session-http')).toEqual(Array(TEXTS).fill(1));
  }, 120_000);
});
