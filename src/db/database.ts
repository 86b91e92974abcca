import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import pg from 'pg';
import { AppError } from '../errors.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Repositories take either: transactions are opened at the edge and passed down. */
export type DbOrTrx = Db | Trx;

// bigint (int8) and numeric come back as strings by default; counts are small, ids stay strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);
// A date is a calendar day in someone's time zone, not an instant: keep `YYYY-MM-DD` as it is.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

/**
 * How long a caller waits for a pool connection (or for a new one to connect) before giving up. Without
 * it a saturated pool makes HTTP requests and /health wait forever instead of failing.
 */
export const DB_CONNECTION_TIMEOUT_MS = 10_000;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  connectionTimeoutMs?: number;
  onIdleError?: (error: Error) => void;
  /** PEM of the CA that signed the server's certificate (DATABASE_CA_CERT): TLS, verified against it. */
  caCert?: string;
  /**
   * Send the statements marked with `preparedName` as named prepared statements: parsed and planned once per
   * connection instead of each time. Only on a connection that keeps its session (direct, or a session-mode
   * pooler): a transaction-mode pooler hands each transaction another server connection, where the name is
   * unknown. Whether a connection keeps its session is asked at start (hasOwnSession: by a process's worker,
   * or by an HTTP-only process under DB_PREPARED_STATEMENTS=auto; composition.ts).
   */
  prepareStatements?: boolean;
  /**
   * Plan every statement of these sessions generically (`plan_cache_mode = force_generic_plan`): a prepared
   * statement is planned once per connection, never again. Only for a pool that runs nothing but our prepared
   * statements (the group commit's): a generic plan can be worse for an ad-hoc query whose best plan depends
   * on its values, and PostgreSQL plans kysely's unnamed statements generically too under this setting.
   */
  genericPlans?: boolean;
  /**
   * Leave the planner only index lookups and nested loops (`enable_seqscan`, `enable_hashjoin` and
   * `enable_mergejoin` off). For the same pool, whose one statement finds every row by its key: its generic plan
   * is made once per session from the tables' sizes at that moment, and while a table is small a plan that reads
   * all of it (a sequential scan, a hash join) looks cheapest; it then stays as the table grows, until PostgreSQL
   * next analyzes it, and each event read the whole table (docs/architecture.md §5).
   */
  indexPathsOnly?: boolean;
  /** How long an idle connection stays open, ms (pg's default: 10 s; 0: until the pool ends). */
  idleTimeoutMs?: number;
  /**
   * Idle connections kept open past `idleTimeoutMs` (pg-pool's `min`; default none). A new connection costs the
   * first statement its authentication and every prepared statement its planning: ~30–50 ms for one event after
   * a quiet spell (docs/architecture.md §5).
   */
  keepOpen?: number;
}

export function createPool(connectionString: string, options: PoolOptions = {}) {
  const onIdleError = options.onIdleError ?? ((error: Error) => process.emitWarning(`idle database client failed: ${error.message}`));
  const pool = new pg.Pool({
    ...connectionConfig(connectionString, options.caCert),
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'orchestrator',
    connectionTimeoutMillis: options.connectionTimeoutMs ?? DB_CONNECTION_TIMEOUT_MS,
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMillis: options.idleTimeoutMs } : {}),
    ...(options.keepOpen !== undefined ? { min: options.keepOpen } : {}),
    // Long-lived sessions (the worker's liveness session, LISTEN) notice a dead peer behind a NAT or load balancer.
    keepAlive: true,
  });
  // An idle client that loses its server emits 'error'; without a listener that would end the process.
  pool.on('error', onIdleError);
  pool.on('connect', (client) => {
    client.on('error', onIdleError);
    if (options.prepareStatements) prepareMarkedStatements(client);
    // Queued before the pool hands the client out, so it precedes the session's first statement.
    const settings = [
      ...(options.genericPlans ? ['set plan_cache_mode = force_generic_plan'] : []),
      ...(options.indexPathsOnly ? ['set enable_seqscan = off', 'set enable_hashjoin = off', 'set enable_mergejoin = off'] : []),
    ];
    if (settings.length > 0) void client.query(settings.join('; ')).catch(onIdleError);
  });
  return pool;
}

/**
 * The group commit's own sessions (docs/architecture.md §5): they run nothing but its one statement, prepared,
 * planned once per session, by its keys only.
 */
export const WRITER_SESSIONS = { prepareStatements: true, genericPlans: true, indexPathsOnly: true, applicationName: 'orchestrator-writer' } as const satisfies PoolOptions;

/**
 * Marks a statement (kysely's `sql` template, a fixed text whatever its parameters) to be sent as the named
 * prepared statement `name` on a pool created with `prepareStatements`; elsewhere it is a plain statement.
 */
export function preparedName(name: string) {
  return sql.raw(`/* prepared:${name} */`);
}

const PREPARED_MARK = /^\s*\/\* prepared:([a-z_]+) \*\//;

/** kysely sends (text, values): a marked text goes as { name, text, values }, which pg parses once per connection. */
function prepareMarkedStatements(client: pg.PoolClient) {
  // The class's method, looked up at each call: a wrapper installed on it later (the benches' statement counter) still sees every statement.
  const send = (...args: unknown[]) => (pg.Client.prototype.query as (...a: unknown[]) => unknown).apply(client, args);
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' ? PREPARED_MARK.exec(text)?.[1] : undefined;
    if (name && typeof callback !== 'function') return send({ name, text, values });
    return send(text, values, callback);
  }) as typeof client.query;
}

/**
 * Is `client` one server session of its own? A transaction-mode pooler (pgbouncer `pool_mode = transaction`,
 * Supabase's port 6543) hands each transaction to any server connection, so nothing that lives in a session
 * lasts there: not a LISTEN, not a prepared statement. The check asks for exactly that: a notification sent
 * from another connection of `pool` must reach a LISTEN on `client`. Through a transaction pooler it never
 * does (it goes to whichever client holds that server at the time), so a false answer costs `timeoutMs`.
 */
export async function hasOwnSession(client: pg.PoolClient, pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  const channel = `orchestrator_session_check_${randomBytes(6).toString('hex')}`;
  let onNotification: ((message: pg.Notification) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const heard = new Promise<boolean>((resolve) => {
    onNotification = (message) => {
      if (message.channel === channel) resolve(true);
    };
    client.on('notification', onNotification);
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    await client.query(`listen "${channel}"`);
    await pool.query('select pg_notify($1, $2)', [channel, '']);
    return await heard;
  } finally {
    clearTimeout(timer);
    client.off('notification', onNotification!);
    await client.query(`unlisten "${channel}"`).catch(() => {});
  }
}

/** Do connections to `connectionString` keep their sessions (hasOwnSession), asked on two of their own, closed after. */
export async function connectionKeepsSessions(connectionString: string, options: Pick<PoolOptions, 'caCert' | 'onIdleError'>, timeoutMs: number): Promise<boolean> {
  const pool = createPool(connectionString, { ...options, max: 2, applicationName: 'orchestrator-session-check' });
  try {
    const client = await pool.connect();
    try {
      return await hasOwnSession(client, pool, timeoutMs);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

/**
 * pg reads `sslmode` and `sslrootcert` from the URL, and what it reads there replaces any `ssl` option given
 * beside it. With a CA of our own those two are taken out of the URL, and the connection is TLS verified
 * against that CA, host name included (libpq's `verify-full`): `sslmode=require` alone, against a private
 * CA, fails with "unable to verify the first certificate".
 */
export function connectionConfig(connectionString: string, caCert?: string): pg.PoolConfig {
  if (!caCert) return { connectionString };
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new Error('DATABASE_CA_CERT is set, but the database URL is not a URL (postgres://user:password@host:port/database)');
  }
  if (url.searchParams.get('sslmode') === 'disable') throw new Error('DATABASE_CA_CERT is set, but the database URL says sslmode=disable');
  url.searchParams.delete('sslmode');
  url.searchParams.delete('sslrootcert');
  return { connectionString: url.toString(), ssl: { ca: caCert, rejectUnauthorized: true } };
}

/** `body` in one transaction on one client of `pool`: for the few places below kysely (graphile-worker's schema, the bench's raw loops). */
export async function inPgTransaction<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await body(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({
    dialect: new PostgresDialect({
      // The pool itself, except that waiting too long for a connection becomes a retryable 503.
      pool: {
        Client: pg.Client, // what the pool connects with; kysely uses it to cancel queries
        options: pool.options,
        connect: () => pool.connect().catch((error: unknown) => Promise.reject(toPoolError(error))),
        end: () => pool.end(),
      },
    }),
  });
}

/** pg-pool gives up with a plain Error that has no code: known only by its message (pg-pool 3.x). */
const POOL_TIMEOUT_MESSAGES = ['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout'];
/**
 * The database is away for now, not wrong about this request: it refuses connections or is restarting
 * (class 57P: shut down by an administrator, crashed, starting up), or the connection broke under the query.
 */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);
const UNAVAILABLE_MESSAGES = [...POOL_TIMEOUT_MESSAGES, 'Connection terminated unexpectedly', 'Client has encountered a connection error and is not queryable'];

export function isDatabaseUnavailable(error: unknown): boolean {
  // Read by shape, not `instanceof Error`: socket errors may come from another realm (a test's vm context).
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) || (typeof message === 'string' && UNAVAILABLE_MESSAGES.includes(message));
}

/** A retryable 503: callers (the SMS Agent) try again, and an acknowledged event is never one of these. */
export function databaseUnavailable(cause: unknown): AppError {
  return new AppError('database_unavailable', 'the database is busy or unreachable; try again shortly', 503, true, undefined, { cause });
}

function toPoolError(error: unknown): unknown {
  return isDatabaseUnavailable(error) ? databaseUnavailable(error) : error;
}

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Forward-only migrations, in file-name order. Safe to run from several replicas at once (kysely locks). */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
