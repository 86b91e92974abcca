import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, createPool, type Db } from '../../src/db/database.js';
import { migrateDatabase } from '../../src/db/migrate.js';

const TEMPLATE_DB = 'orchestrator_test_template';
const TEMPLATE_LOCK = 7_201_311;

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  db: Db;
  drop(): Promise<void>;
}

export function withDatabase(url: string, database: string) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function adminUrl() {
  const url = process.env.ORCHESTRATOR_TEST_ADMIN_URL;
  if (!url) throw new Error('the jest global setup did not run');
  return url;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The first test file to get here migrates the template; the others wait on the advisory lock. */
async function ensureTemplate(client: pg.Client) {
  await client.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [TEMPLATE_DB]);
    if (rowCount) return;
    await client.query(`create database ${TEMPLATE_DB}_building`);
    const pool = createPool(withDatabase(adminUrl(), `${TEMPLATE_DB}_building`), { max: 2 });
    const db = createDb(pool);
    await migrateDatabase(db, pool);
    await db.destroy();
    await client.query(`alter database ${TEMPLATE_DB}_building rename to ${TEMPLATE_DB}`);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
  }
}

/** A fresh database cloned from the migrated template: every test file starts clean. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (client) => {
    await ensureTemplate(client);
    await client.query(`create database ${name} template ${TEMPLATE_DB}`);
  });
  const url = withDatabase(adminUrl(), name);
  const pool = createPool(url, { max: 10 });
  const db = createDb(pool);
  return {
    url,
    pool,
    db,
    async drop() {
      await db.destroy();
      await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** A fresh, empty database (not migrated): for tests of what migrating does. */
export async function createEmptyDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`create database ${name}`));
  return {
    url: withDatabase(adminUrl(), name),
    drop: () => withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
