import path from 'node:path';
import { isProcessRunning, readPostmasterLock } from './db/postmaster.js';
import { ConfigurationError } from './errors.js';

// Declared with the other errors, so that the database and the runtime can throw it without importing this file.
export { ConfigurationError };

/**
 * Why the service (or a command) could not start, in one line that names the cause and the fix. The usual
 * ones: the port is taken, the embedded database's directory is in use or left locked by a killed process,
 * the `postgres` user cannot enter the checkout (running as root from a 0700 directory), a variable is wrong.
 */
export function explainStartFailure(error: unknown, settings: { port: number; dataDir: string; embedded: boolean }): string {
  if (error instanceof ConfigurationError) return error.message;
  // What the socket said, under our own wrappers (a pool's `database_unavailable`).
  while (error instanceof Error && typeof error.cause === 'object' && error.cause !== null) error = error.cause;
  const code = (error as { code?: string } | null)?.code;
  const message = describeError(error);
  if (code === 'EADDRINUSE') {
    return `port ${portOf(message) ?? settings.port} is in use: another process listens there (a second orchestrator? its simulators on 8001-8003?); stop it, or set PORT / METRICS_PORT / SIMULATOR_BASE_PORT`;
  }
  if (code === 'EACCES' && /initdb|postgres/.test(message)) {
    return 'the embedded PostgreSQL could not run: as root it runs as the user `postgres`, which cannot enter this checkout (a 0700 directory such as /root or mktemp -d); move the checkout, or set DATABASE_URL';
  }
  if (code === 'ECONNREFUSED' && !settings.embedded) {
    return 'the database at DATABASE_URL refused the connection: is it running, and is the host and port right?';
  }
  if (code !== undefined && TLS_VERIFY_CODES.has(code)) {
    return `the database's TLS certificate could not be verified (${message}): set DATABASE_CA_CERT to the CA that signed it (Supabase's, from the project's database settings) and use sslmode=verify-full`;
  }
  if (code === 'ENOTFOUND' && !settings.embedded) {
    return `the host of DATABASE_URL was not found (${message}): check the URL`;
  }
  if (settings.embedded && /postgres|initdb|database/i.test(message)) {
    const lock = readPostmasterLock(settings.dataDir);
    if (lock) {
      return isProcessRunning(lock.pid)
        ? `the embedded database in ${settings.dataDir} is in use by another PostgreSQL (pid ${lock.pid}): another orchestrator runs on this DATA_DIR; stop it, or give this one its own DATA_DIR`
        : `the embedded database in ${settings.dataDir} was left locked by a process that died (pid ${lock.pid} is gone): remove ${lock.file} and start again`;
    }
    return `the embedded database in ${path.resolve(settings.dataDir)} did not start (${message}); delete ${settings.dataDir} to start from an empty database, or set DATABASE_URL`;
  }
  return message;
}

/** Node's codes for a server certificate it could not verify (a private CA, a wrong host name). */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);


/** An error's own words, never empty nor `undefined`: Node's connection errors (AggregateError) have no message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.message) return error.message;
    const inner = (error as { errors?: unknown[] }).errors?.[0];
    if (inner !== undefined) return describeError(inner);
    const code = (error as { code?: string }).code;
    return code ? `${error.name} ${code}` : `${error.name} without a message`;
  }
  return error === undefined || error === null ? 'failed without saying why' : String(error);
}

/** 2 for what the operator must change (a variable, a directory, a port), 1 for anything else. */
export const exitStatusOf = (error: unknown) => (error instanceof ConfigurationError ? 2 : 1);

function portOf(message: string): string | null {
  return /:(\d+)\s*$/.exec(message)?.[1] ?? null;
}

/** A bad variable is the operator's to fix: one line naming it, no stack, exit 2. */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    process.stderr.write(`could not start: ${describeError(error)}\n`);
    process.exit(2);
  }
}

/**
 * The start failed: the cause and the fix on stderr and in the fatal log line, then exit 2 (configuration)
 * or 1. The error itself (its stack) is logged only at debug level.
 */
export function exitOnStartFailure(
  error: unknown,
  config: { port: number; dataDir: string; databaseUrl?: string },
  logger: { fatal(fields: object, message: string): void; isLevelEnabled?(level: string): boolean },
): never {
  const cause = explainStartFailure(error, { port: config.port, dataDir: config.dataDir, embedded: !config.databaseUrl });
  logger.fatal(logger.isLevelEnabled?.('debug') ? { err: error, cause } : { cause }, 'could not start');
  process.stderr.write(`could not start: ${cause}\n`);
  process.exit(exitStatusOf(error));
}
