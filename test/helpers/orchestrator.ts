import { loadConfig } from '../../src/config.js';
import { startOrchestrator, type Orchestrator } from '../../src/composition.js';
import type { ResilienceOptions } from '../../src/adapters/clients/index.js';
import type { Db } from '../../src/db/database.js';
import { signToken, type Role, type TokenOptions } from '../../src/http/auth.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export interface TestOrchestrator {
  orchestrator: Orchestrator;
  testDb: TestDatabase;
  url: string;
  /** An HS256 token; a manager's carries the deployment's `org` (all tenants) unless `options` scope it otherwise. */
  token(role: Role, subject?: string, options?: TokenOptions): string;
  stop(): Promise<void>;
}

/** The configuration every in-process test service starts from (free ports, quiet logs); `env` overrides it. */
export function testConfig(env: Record<string, string>) {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    JWT_SECRET: TEST_JWT_SECRET,
    SIMULATOR_BASE_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKER_CONCURRENCY: '2',
    // Most tests are about other things and text in from numbers on no tenant's record; the identity
    // check has its own tests (test/e2e/identity.test.ts), which turn it on.
    IDENTITY_CHECK: 'off',
    ...env,
  });
}

/** The real service, in-process, on a fresh database and simulators on free ports. */
export async function startTestOrchestrator(
  env: Record<string, string> = {},
  options: {
    worker?: boolean;
    invokeMaxAttempts?: number;
    logLines?: string[];
    onLivenessLost?: (error: Error) => void;
    clock?: () => number;
    resilience?: ResilienceOptions;
    /** Connect as this login role instead of the database's owner (the test database's name stays). */
    connectAs?: { user: string; password: string };
    /** Runs on the migrated database before the service starts (e.g. to create that role). */
    beforeStart?: (testDb: TestDatabase) => Promise<void>;
  } = {},
): Promise<TestOrchestrator> {
  const testDb = await createTestDatabase();
  await options.beforeStart?.(testDb);
  const config = testConfig({ DATABASE_URL: options.connectAs ? withCredentials(testDb.url, options.connectAs) : testDb.url, ...env });
  // With `logLines`, every log line is kept there (at the configured LOG_LEVEL) for the test to read.
  const lines = options.logLines;
  const logger = createLogger({ level: config.logLevel, destination: lines ? { write: (line: string) => void lines.push(line) } : undefined });
  const orchestrator = await startOrchestrator(config, logger, options);
  return {
    orchestrator,
    testDb,
    url: orchestrator.url!,
    token: (role, subject = role === 'manager' ? 'manager-1' : 'sms-agent', options) =>
      signToken(TEST_JWT_SECRET, role, subject, '12h', options ?? (role === 'manager' ? { org: config.auth.orgId } : {})),
    async stop() {
      await orchestrator.close();
      await testDb.drop();
    },
  };
}

export function withCredentials(url: string, credentials: { user: string; password: string }): string {
  const parsed = new URL(url);
  parsed.username = credentials.user;
  parsed.password = credentials.password;
  return parsed.toString();
}

/** Polls until the conversation reaches one of the states (or fails with the last state seen). */
export async function waitForState(
  orchestrator: { db: Db },
  conversationId: string,
  states: string[],
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = 'none';
  while (Date.now() < deadline) {
    const row = await orchestrator.db.selectFrom('conversations').select('state').where('id', '=', conversationId).executeTakeFirst();
    last = row?.state ?? 'none';
    if (states.includes(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`conversation ${conversationId} did not reach ${states.join('|')} in ${timeoutMs} ms; last state ${last}`);
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
