import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { startOrchestrator, type Orchestrator } from '../../src/composition.js';
import { createDb, createPool } from '../../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { signToken } from '../../src/http/auth.js';
import { createLogger } from '../../src/logger.js';
import { TEST_JWT_SECRET, testConfig, waitFor } from '../helpers/orchestrator.js';
import { portToBindAgain } from '../helpers/child-process.js';

/**
 * Postgres stopped and started again under the service while SMS keep arriving, on a server of this test's
 * own (the shared test server must not restart). An event acknowledged with 2xx is committed, so it must
 * survive; the API must answer 2xx again without being restarted. A worker, by design, fences itself when
 * its liveness session breaks (docs/architecture.md, "Dead workers") and its process exits, so the API here
 * runs without one (as with RUN_WORKER=0), and the worker that drains the texts afterwards is a second,
 * worker-only orchestrator on the same database. (Kept alive after fencing, as this test once did, a worker
 * meets graphile-worker 0.18's local queue rejecting a promise nobody holds when it cannot hand fetched jobs
 * back to a database that is gone; main.ts and worker-main.ts exit on fencing, so only a test sees it.)
 */

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-pg-restart-'));
// As root the server runs as the OS user postgres, which must be able to enter the directory.
chmodSync(dataDir, 0o755);
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let pg: EmbeddedDatabase | null = null;
const services: Orchestrator[] = [];

afterAll(async () => {
  for (const service of services.reverse()) await service.close();
  await pg?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Postgres restarted under load', () => {
  it('when the database goes away and comes back while texts arrive, then every 2xx-acknowledged text is kept, the API recovers by itself, and each gets one reply', async () => {
    const port = await portToBindAgain(); // the restart binds it again
    pg = await startEmbeddedPostgres({ dataDir, port, database: 'restart' });
    const api = await startOrchestrator(testConfig({ DATABASE_URL: pg.url, DB_POOL_SIZE: '6' }), logger, { worker: false });
    services.push(api);
    const token = signToken(TEST_JWT_SECRET, 'service', 'sms-agent');

    const statuses = new Map<number, number>();
    const post = async (n: number) => {
      const response = await request(api.url!)
        .post('/orchestrate/sms-received')
        .set('Authorization', `Bearer ${token}`)
        .set('Idempotency-Key', `restart-${n}`)
        .send({ tenant_id: 'tenant-restart', phone_number: `+155501${String(20_000 + n)}`, content: 'Hi, what is my balance?', conversation_id: `conv-restart-${n}` })
        .catch((error: unknown) => ({ status: 0, error }));
      statuses.set(n, response.status);
    };
    // A small steady load: one text every 40 ms, before, during and for a second after the restart.
    let loading = true;
    let n = 0;
    const load = (async () => {
      const inFlight: Array<Promise<void>> = [];
      while (loading) {
        inFlight.push(post(n));
        n += 1;
        await sleep(40);
      }
      await Promise.all(inFlight);
    })();
    await sleep(400);
    await pg.stop();
    // An API without a worker is live, and not ready while its database is away.
    await request(api.url!).get('/health/ready').expect(503, { status: 'not_ready', database: 'down', worker: 'none' });
    await request(api.url!).get('/health/live').expect(200);
    await sleep(300);
    pg = await startEmbeddedPostgres({ dataDir, port, database: 'restart' });
    await sleep(1_000);
    loading = false;
    await load;

    const acknowledged = [...statuses].filter(([, status]) => status >= 200 && status < 300).map(([i]) => i);
    const refused = [...statuses].filter(([, status]) => status < 200 || status >= 300).map(([i]) => i);
    expect(refused.length).toBeGreaterThan(0); // the outage was real
    expect(acknowledged.filter((i) => i > Math.max(...refused)).length).toBeGreaterThan(0); // and the API came back by itself
    // Refused as "try again" (the SMS Agent retries 5xx): the database was away, the request was not wrong.
    expect(new Set(refused.map((i) => statuses.get(i)))).toEqual(new Set([503]));

    // Every acknowledged text is in the database (read through a fresh connection, not the service's).
    const checkPool = createPool(pg.url, { max: 1 });
    const check = createDb(checkPool);
    try {
      const keys = await check.selectFrom('inbox').select('idempotency_key').where('idempotency_key', 'like', 'restart-%').execute();
      const stored = new Set(keys.map((row) => row.idempotency_key));
      expect(acknowledged.filter((i) => !stored.has(`restart-${i}`))).toEqual([]);
    } finally {
      await check.destroy();
    }

    // The worker that lost its liveness session is replaced, as a supervisor would; it drains the queue.
    const worker = await startOrchestrator(
      testConfig({
        DATABASE_URL: pg.url,
        COLLECTIONS_MONITOR_URL: api.simulators!.urls.collectionsMonitor,
        SMS_AGENT_URL: api.simulators!.urls.smsAgent,
        NOTIFICATION_SERVICE_URL: api.simulators!.urls.notificationService,
        WORKER_SWEEP_INTERVAL: '1s',
      }),
      logger,
      { http: false, worker: true, onLivenessLost: () => {} },
    );
    services.push(worker);
    const conversations = acknowledged.map((i) => `conv-restart-${i}`);
    await waitFor(async () => {
      const rows = await worker.db.selectFrom('conversations').select('state').where('id', 'in', conversations).where('state', '=', 'awaitingReply').execute();
      return rows.length === conversations.length;
    }, 30_000, 'every acknowledged conversation to get its reply');
    for (const i of acknowledged) {
      expect(api.simulators!.sms.sent.filter((text) => text.to === `+155501${String(20_000 + i)}`)).toHaveLength(1);
    }
  }, 60_000);
});
