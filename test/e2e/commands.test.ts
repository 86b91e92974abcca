import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { embeddedUrl } from '../../src/db/embedded.js';
import { readPostmasterLock } from '../../src/db/postmaster.js';
import { freePort, runScript, spawnService, type ChildService } from '../helpers/child-process.js';
import { waitFor } from '../helpers/orchestrator.js';

/**
 * The operator's commands (`npm run migrate`, `token`, `audit:verify`, `inspect`) beside a running
 * service on the embedded database, and with it stopped: beside it they join its server (two servers
 * cannot share a data directory), alone they start one and stop it, and their exit status is the answer.
 */

let dataDir: string;
let service: ChildService | null = null;
let env: Record<string, string>;
const CONVERSATION = 'conv-commands-1';

const run = (script: string, args: string[] = [], extra: Record<string, string> = {}) => runScript(`scripts/${script}.ts`, args, { ...env, ...extra });

/** The one thing an operator's cron job reads: the exit status, with the verdict line. */
async function verify() {
  const result = await run('audit-verify');
  return { status: result.status, verdict: result.stdout.trim().split('\n').pop(), broken: result.stdout.split('\n').filter((line) => line.startsWith('BROKEN')), stderr: result.stderr };
}

/** inspect stays up for a browser until Ctrl-C: wait for its report, then interrupt it. */
async function inspect(conversationId: string) {
  const inspectPort = String(await freePort());
  const running = runScript('scripts/inspect.ts', [conversationId], { ...env, INSPECT_PORT: inspectPort }, {
    onStdout: (text) => {
      if (text.includes('Ctrl-C')) running.process.kill('SIGINT');
    },
  });
  return running;
}

async function tamperAsSuperuser(port: number) {
  // As docs/audit.md says a superuser could: with the triggers that refuse changes switched off.
  const client = new pg.Client({ connectionString: embeddedUrl(port) });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query(`update transitions set actor = 'manager:someone-else' where conversation_id = $1 and seq = 1`, [CONVERSATION]);
    await client.query('commit');
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-commands-'));
  chmodSync(dataDir, 0o755); // the embedded server runs as `postgres` when the tests run as root
  env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()), SIMULATOR_BASE_PORT: '0' };
  service = spawnService('src/main.ts', env);
  await service.waitForLog('orchestrator listening', 90_000); // a first start initialises the cluster
}, 120_000);

afterAll(async () => {
  await service?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('commands beside a running service, then with it stopped', () => {
  it('when the service runs, then token, migrate, audit:verify and inspect work on its database, and a tampered trail exits 1', async () => {
    const token = await run('token', ['service']);
    expect(token).toMatchObject({ status: 0, stderr: '' });
    const accepted = await request(`http://127.0.0.1:${env.PORT}`)
      .post('/orchestrate/sms-received')
      .set('Authorization', `Bearer ${token.stdout.trim()}`)
      .set('Idempotency-Key', 'commands-1')
      .send({ tenant_id: 'tenant-commands', phone_number: '+15550142001', content: 'Hi, what is my balance?', conversation_id: CONVERSATION });
    expect(accepted.status).toBe(202);

    const serverPid = readPostmasterLock(dataDir)!.pid;
    expect(await run('migrate')).toMatchObject({ status: 0, stdout: 'already up to date\n', stderr: '' });
    expect(await verify()).toMatchObject({ status: 0, verdict: expect.stringMatching(/^1 conversation\(s\), \d+ transition row\(s\) checked, 0 broken$/), stderr: '' });
    const inspected = await inspect(CONVERSATION);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(new RegExp(`^\\d+ transition\\(s\\) of ${CONVERSATION} sent to`));
    expect(await run('inspect', ['conv-nobody'])).toMatchObject({ status: 1, stderr: 'no conversation conv-nobody\n' });

    await tamperAsSuperuser(readPostmasterLock(dataDir)!.port);
    const tampered = await verify();
    expect(tampered).toMatchObject({ status: 1, verdict: expect.stringMatching(/, 1 broken$/), stderr: '' });
    expect(tampered.broken).toEqual([expect.stringMatching(new RegExp(`^BROKEN ${CONVERSATION} seq 1: .*manager:someone-else`))]);

    // The same server served every command: none started a second one, none stopped the service's.
    expect(readPostmasterLock(dataDir)!.pid).toBe(serverPid);
    expect((await request(`http://127.0.0.1:${env.PORT}`).get('/health')).status).toBe(200);
  }, 180_000);

  it('when the service is stopped, then each command starts the database for itself, stops it after, and audit:verify still exits 1', async () => {
    await service!.kill('SIGTERM');
    service = null;
    expect(readPostmasterLock(dataDir)).toBeNull();

    const tampered = await verify();
    expect(tampered).toMatchObject({ status: 1, verdict: expect.stringMatching(/^1 conversation\(s\), \d+ transition row\(s\) checked, 1 broken$/), stderr: '' });
    expect(await verify().then((result) => result.broken)).toHaveLength(1);
    expect(await run('migrate')).toMatchObject({ status: 0, stdout: 'already up to date\n', stderr: '' });
    expect(await inspect(CONVERSATION)).toMatchObject({ status: 0, stdout: expect.stringContaining(`of ${CONVERSATION} sent to`) });
    expect(await run('token', ['manager', 'alice'])).toMatchObject({ status: 0, stderr: '' });
    // Each command stopped the server it started.
    await waitFor(() => !existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 10_000, 'no server left on the data directory');
  }, 180_000);

  it('when a command fails, then it prints one line saying what happened (never "undefined") and exits non-zero', async () => {
    const refused = await run('audit-verify', [], { DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/orchestrator` });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^audit:verify failed: the database at DATABASE_URL refused the connection[^\n]*\n$/);
    const badConfig = await run('migrate', [], { DATABASE_URL: 'not-a-url' });
    expect(badConfig.status).toBe(2);
    expect(badConfig.stderr).toMatch(/^migrate failed: invalid configuration: DATABASE_URL: expected a postgres:\/\/ [^\n]*\n$/);
    const usage = await run('token', ['nobody']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^usage: npm run token/);
    for (const result of [refused, badConfig, usage]) expect(result.stderr).not.toMatch(/undefined|\n\s+at /);
  }, 120_000);
});
