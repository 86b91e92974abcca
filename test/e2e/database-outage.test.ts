import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, createPool } from '../../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type RunningSimulators } from '../../src/simulators/index.js';
import { freePort, portToBindAgain, spawnService, type ChildService } from '../helpers/child-process.js';
import { TEST_JWT_SECRET, waitFor } from '../helpers/orchestrator.js';
import { inboundText, postText, waitUntilAnswered, type InboundText } from '../helpers/texts.js';

/**
 * The database away for 10 s under traffic, with the default RUN_WORKER=1, as `npm start` runs the service
 * (src/supervisor.ts). The worker fences itself when its liveness session breaks and its process exits 1;
 * the supervisor starts it again until the database answers. No one steps in, and every text acknowledged
 * (2xx) before, during or after is answered exactly once. The simulators run in this process, so that what
 * they were sent outlives the restarts; the database is this test's own (the shared one must not stop).
 */

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-outage-'));
// As root the server runs as the OS user postgres, which must be able to enter the directory.
chmodSync(dataDir, 0o755);
let pg: EmbeddedDatabase | null = null;
let simulators: RunningSimulators | null = null;
let service: ChildService | null = null;

afterAll(async () => {
  await service?.kill('SIGTERM');
  await simulators?.close();
  await pg?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OUTAGE_MS = 10_000;

describe('the database away for 10 s, under npm start', () => {
  it('when Postgres stops and comes back while texts arrive, then the service comes back by itself and every acknowledged text is answered once', async () => {
    const pgPort = await portToBindAgain(); // the restart binds it again
    pg = await startEmbeddedPostgres({ dataDir, port: pgPort, database: 'outage' });
    simulators = await startSimulators({ basePort: 0, logger: createLogger({ level: 'silent' }) });
    const port = await freePort();
    service = spawnService('src/supervisor.ts', {
      DATABASE_URL: pg.url,
      PORT: String(port),
      JWT_SECRET: TEST_JWT_SECRET,
      COLLECTIONS_MONITOR_URL: simulators.urls.collectionsMonitor,
      SMS_AGENT_URL: simulators.urls.smsAgent,
      NOTIFICATION_SERVICE_URL: simulators.urls.notificationService,
      WORKER_CONCURRENCY: '4',
      WORKER_SWEEP_INTERVAL: '1s',
      IDENTITY_CHECK: 'off',
    });
    await service.waitForLog('orchestrator listening', 60_000);
    const url = `http://127.0.0.1:${port}`;

    // One text every 100 ms: before, during and after the outage, until the service has answered 2xx again.
    const statuses = new Map<number, number>();
    const texts: InboundText[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    const load = (async () => {
      const inFlight: Array<Promise<void>> = [];
      for (let n = 0; Date.now() < stopAt; n += 1) {
        const text = inboundText('outage', n);
        texts.push(text);
        inFlight.push(postText(url, text).then((status) => void statuses.set(n, status)));
        await sleep(100);
      }
      await Promise.all(inFlight);
    })();
    await sleep(1_500);
    await pg.stop();
    const stoppedAt = texts.length;
    await sleep(OUTAGE_MS);
    pg = await startEmbeddedPostgres({ dataDir, port: pgPort, database: 'outage' });
    const restartedAt = texts.length;
    await waitFor(() => [...statuses].some(([n, status]) => n >= restartedAt && status === 202), 90_000, 'the service to take texts again');
    stopAt = Date.now() + 1_000;
    await load;

    const acknowledged = [...statuses].filter(([, status]) => status >= 200 && status < 300).map(([n]) => n);
    const refused = [...statuses].filter(([, status]) => status < 200 || status >= 300).map(([n]) => n);
    expect(refused.filter((n) => n >= stoppedAt && n < restartedAt).length).toBeGreaterThan(0); // the outage was real
    expect(acknowledged.filter((n) => n < stoppedAt).length).toBeGreaterThan(0);
    expect(acknowledged.filter((n) => n >= restartedAt).length).toBeGreaterThan(0); // and the service came back alone
    // Refused as "try again" (503), or not answered while the process was restarting: never a 4xx, never a 500.
    expect([...new Set(refused.map((n) => statuses.get(n)))].filter((status) => status !== 503 && status !== 0)).toEqual([]);

    const checkPool = createPool(pg.url, { max: 2 });
    const check = createDb(checkPool);
    try {
      const replies = await waitUntilAnswered(check, simulators.sms, acknowledged.map((n) => texts[n]!), 90_000);
      expect(replies).toEqual(acknowledged.map(() => 1));
    } finally {
      await check.destroy();
    }
  }, 240_000);
});

describe('the supervisor and a configuration that cannot work', () => {
  it('when the service exits 2, then the supervisor does not restart it and exits 2 itself, after the one line', async () => {
    const child = spawnService('src/supervisor.ts', { PORT: 'not-a-port' });
    let stderr = '';
    child.process.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await child.waitForLog('service refused its configuration; not restarting', 60_000).catch(() => {});
    const code = await new Promise<number | null>((resolve) =>
      child.process.exitCode !== null ? resolve(child.process.exitCode) : child.process.once('exit', (exitCode) => resolve(exitCode)),
    );
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^could not start: invalid configuration: PORT: /)]);
  }, 60_000);
});
