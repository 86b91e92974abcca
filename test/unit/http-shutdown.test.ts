import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { gracefulCloser } from '../../src/http/graceful-close.js';

/** A bare server whose handler answers after `?ms=` milliseconds (`&stream=1`: headers at once), and a keep-alive client. */
const servers: http.Server[] = [];
const agents: http.Agent[] = [];
const timers: NodeJS.Timeout[] = [];
async function start(drainMs: number) {
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    if (query.get('stream')) res.writeHead(200).write('');
    timers.push(setTimeout(() => res.end('done'), Number(query.get('ms') ?? 0)));
  });
  servers.push(server);
  const close = gracefulCloser(server, drainMs);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  const { port } = server.address() as AddressInfo;
  const get = (ms: number, stream = false) =>
    new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/?ms=${ms}${stream ? '&stream=1' : ''}`, agent }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
  return { close, get };
}
const timed = async (promise: Promise<unknown>) => {
  const startedAt = Date.now();
  await promise;
  return Date.now() - startedAt;
};

afterEach(() => {
  timers.splice(0).forEach(clearTimeout);
  agents.splice(0).forEach((agent) => agent.destroy());
  servers.splice(0).forEach((server) => server.closeAllConnections());
});

describe('HTTP shutdown', () => {
  it('when only idle keep-alive connections are open, then closing is immediate', async () => {
    const { close, get } = await start(10_000);
    await get(0);
    expect(await timed(close())).toBeLessThan(500);
  });

  it('when a request is in flight, then it finishes with Connection: close and closing waits for it only', async () => {
    const { close, get } = await start(10_000);
    await get(0);
    const pending = get(300);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = timed(close());
    expect(await pending).toEqual({ status: 200, connection: 'close', body: 'done' });
    const ms = await closing;
    expect(ms).toBeGreaterThanOrEqual(200);
    expect(ms).toBeLessThan(1_500);
  });

  it('when a response in flight has already sent its headers, then its connection is closed as soon as it ends', async () => {
    const { close, get } = await start(10_000);
    const pending = get(300, true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = timed(close());
    expect(await pending).toEqual({ status: 200, connection: 'keep-alive', body: 'done' });
    expect(await closing).toBeLessThan(1_500);
  });

  it('when a request outlives the drain deadline, then its connection is cut at the deadline', async () => {
    const { close, get } = await start(200);
    const pending = get(5_000).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ms = await timed(close());
    expect(await pending).toMatch(/socket hang up|ECONNRESET/);
    expect(ms).toBeGreaterThanOrEqual(150);
    expect(ms).toBeLessThan(1_500);
  });
});
