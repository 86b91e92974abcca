import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runScript } from '../helpers/child-process.js';

/**
 * The service started with one bad setting at a time, as an operator would start it: each is refused at
 * once, in one line on stderr that names the setting, with exit status 2 (the operator's to fix), and no
 * stack in the log.
 */

/** Starts the service with these variables, as an operator would; a start that hangs instead of failing fails the test. */
const startMain = (env: Record<string, string>) => runScript('src/main.ts', [], { SIMULATOR_BASE_PORT: '0', PORT: '0', ...env }, { timeoutMs: 90_000 });

describe('bad configuration says so at once: one line, exit 2, no stack', () => {
  const fixtures = (async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'startup-config-'));
    chmodSync(dataDir, 0o755);
    writeFileSync(path.join(dataDir, 'a-file'), '');
    return { taken, takenPort: (taken.address() as { port: number }).port, dataDir };
  })();
  afterAll(async () => {
    const { taken, dataDir } = await fixtures;
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  type Fixtures = Awaited<typeof fixtures>;
  const cases: Array<[string, (f: Fixtures) => Record<string, string>, RegExp]> = [
    // Under a regular file: no directory can be made there, whoever runs the test (root included).
    ['DATA_DIR unwritable', (f) => ({ DATA_DIR: path.join(f.dataDir, 'a-file', 'data') }), /^DATA_DIR .* is not writable \(ENOTDIR\); point DATA_DIR at/],
    ['PORT empty', () => ({ PORT: '' }), /^invalid configuration: PORT: expected a port number$/],
    ['NO_REPLY_TIMEOUT=0', () => ({ NO_REPLY_TIMEOUT: '0' }), /^invalid configuration: NO_REPLY_TIMEOUT: must be longer than 0$/],
    ['APPROVAL_SLA=0', () => ({ APPROVAL_SLA: '0s' }), /^invalid configuration: APPROVAL_SLA: must be longer than 0$/],
    ['a service URL that is not http(s)', () => ({ SMS_AGENT_URL: 'ftp://sms.example:21' }), /^invalid configuration: SMS_AGENT_URL: expected an http:\/\/ or https:\/\/ URL$/],
    ['a file: JWKS URL', () => ({ JWT_JWKS_URL: 'file:///etc/passwd' }), /^invalid configuration: JWT_JWKS_URL: expected an http:\/\/ or https:\/\/ URL$/],
    ['DATABASE_URL not a URL', () => ({ DATABASE_URL: 'not-a-url' }), /^invalid configuration: DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL$/],
    ['a taken EMBEDDED_PG_PORT', (f) => ({ DATA_DIR: path.join(f.dataDir, 'taken'), EMBEDDED_PG_PORT: String(f.takenPort) }), /^EMBEDDED_PG_PORT \d+ is in use by another program; set EMBEDDED_PG_PORT to a free port/],
  ];

  it.each(cases)('when %s, then the process exits 2 with one line naming it', async (_name, env, cause) => {
    const result = await startMain(env(await fixtures));
    expect(result.status).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.replace(/^could not start: /, '')).toMatch(cause);
    // The fatal log line (start failures) gives the cause, without a stack at info level.
    expect(result.stdout).not.toMatch(/"stack"/);
  }, 120_000);
});
