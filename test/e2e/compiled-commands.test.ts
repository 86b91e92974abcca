import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { runScript } from '../helpers/child-process.js';
import { createEmptyDatabase } from '../helpers/database.js';

/**
 * The image has Node and dist/, no tsx and no scripts/: its release step migrates with
 * `node dist/scripts/migrate.js`, and an operator mints a token with `node dist/scripts/token.js`. Built here
 * as the Dockerfile builds them (`npm run build`), then run with plain node in production's environment.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
let env: Record<string, string>;

beforeAll(async () => {
  const build = await runScript('node_modules/typescript/bin/tsc', ['-p', path.join(ROOT, 'tsconfig.build.json')], {}, { timeoutMs: 300_000 });
  expect(build).toMatchObject({ status: 0, stderr: '' });
  database = await createEmptyDatabase('compiled');
  env = {
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    JWT_SECRET: 'compiled-secret-0123456789abcdef0123456789',
    OUTBOUND_JWT_SECRET: 'compiled-outbound-0123456789abcdef012345',
    CONVERSATION_ID_SECRET: 'compiled-ids-0123456789abcdef0123456789ab',
    AGENCY_NAME: 'Midwest Recovery',
    COLLECTIONS_MONITOR_URL: 'http://127.0.0.1:1',
    SMS_AGENT_URL: 'http://127.0.0.1:1',
    NOTIFICATION_SERVICE_URL: 'http://127.0.0.1:1',
    ORG_ID: 'org-compiled',
  };
}, 330_000);

afterAll(() => database.drop());

describe('the compiled commands, as the image runs them', () => {
  it('when node dist/scripts/migrate.js runs on an empty database, then it applies every migration, and a second run finds nothing to do', async () => {
    const first = await runScript('dist/scripts/migrate.js', [], env);
    expect(first).toMatchObject({ status: 0, stderr: '' });
    expect(first.stdout).toMatch(/^applied: 202611251300_initial, .*202612049001_api_roles/);
    expect(await runScript('dist/scripts/migrate.js', [], env)).toMatchObject({ status: 0, stdout: 'already up to date\n' });
    const migrated = new pg.Client({ connectionString: env.DATABASE_URL });
    await migrated.connect();
    const { rows } = await migrated.query(`select count(*)::int as tables from pg_tables where schemaname = 'public'`).finally(() => migrated.end());
    expect(rows[0].tables).toBeGreaterThan(10);
    expect(await runScript('dist/scripts/audit-verify.js', [], env)).toMatchObject({ status: 0, stdout: '0 conversation(s), 0 transition row(s) checked, 0 broken\n' });
  }, 120_000);

  it('when node dist/scripts/token.js runs, then it prints a token the configured JWT_SECRET verifies, for the deployment ORG_ID', async () => {
    const result = await runScript('dist/scripts/token.js', ['manager', 'alice'], env);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(jwt.verify(result.stdout.trim(), env.JWT_SECRET!)).toMatchObject({ sub: 'alice', role: 'manager', org: 'org-compiled' });
  }, 60_000);
});
