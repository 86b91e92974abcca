import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { isProcessRunning, readPostmasterLock } from '../../src/db/postmaster.js';
import { freePort, spawnService, type ChildService } from '../helpers/child-process.js';
import { waitFor } from '../helpers/orchestrator.js';

/**
 * `kill -9` of the service on the embedded database leaves its PostgreSQL running (or, when the whole
 * process group was killed, its lock file and shared memory behind). The next start deals with either by
 * itself, says what it did in one line, and answers.
 */

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-restart-'));
chmodSync(dataDir, 0o755); // the embedded server runs as `postgres` when the tests run as root
let service: ChildService | null = null;

afterAll(async () => {
  await service?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('starting again after kill -9 on the embedded database', () => {
  it('when the service was killed (alone, or with its PostgreSQL), then each next start is ready and answers, saying what it did with the server left behind', async () => {
    const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()), SIMULATOR_BASE_PORT: '0' };
    const leftovers: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      service = spawnService('src/main.ts', env);
      service.process.stdout!.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.includes('was left running')) leftovers.push(line);
      });
      await service.waitForLog('orchestrator listening', 90_000);
      const health = await request(`http://127.0.0.1:${env.PORT}`).get('/health');
      expect({ round, status: health.status, database: health.body.database }).toEqual({ round, status: 200, database: 'up' });

      const server = readPostmasterLock(dataDir)!;
      await service.kill('SIGKILL');
      // Odd rounds: the whole process group went, the server too (its lock file and shared memory stay behind).
      if (round % 2 === 1) process.kill(server.pid, 'SIGKILL');
      else expect(isProcessRunning(server.pid)).toBe(true);
    }
    // Rounds 1 and 3 found the server round 0 and 2 left running, and stopped it.
    expect(leftovers).toHaveLength(2);
    for (const line of leftovers) expect(JSON.parse(line)).toMatchObject({ level: 40, msg: expect.stringMatching(/^an embedded PostgreSQL \(pid \d+\) was left running on .* by a process that is gone: stopped it$/) });

    service = spawnService('src/main.ts', env);
    await service.waitForLog('orchestrator listening', 90_000);
    await service.kill('SIGTERM');
    service = null;
    await waitFor(() => readPostmasterLock(dataDir) === null, 10_000, 'the server stopped with the service');
  }, 400_000);
});
