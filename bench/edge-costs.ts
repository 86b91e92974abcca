/**
 * `tsx bench/edge-costs.ts`: what the code around an event's write costs, in CPU per request.
 *
 * 1. The bearer-token check alone, one token again and again.
 * 2. One outbound call (POST, small JSON both ways) through the service client (src/adapters/clients/service-http.ts:
 *    got + cockatiel), against the same call through node:http on a keep-alive agent, to a loopback server.
 * 3. Each middleware the event routes pass through, measured
 * the way it is paid: an Express app on a loopback port answering 202 with a small JSON body, driven over
 * keep-alive connections from this process, first bare, then with one middleware more at a time (in the
 * order of src/app.ts). A row's figure is the CPU per request of the app up to it minus the row above: the
 * client's share is the same in every row. One service token, sent with every request as the SMS Agent does.
 * A measurement for the profile notes, not a test. BENCH_REQUESTS (default 6,000) per row, BENCH_ROUNDS (5) rounds (the best kept).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { accessLog } from '../src/http/access-log.js';
import { createAuthenticator, signToken } from '../src/http/auth.js';
import { requestIdMiddleware } from '../src/http/request-context.js';
import { textGuard } from '../src/http/text-guard.js';
import { createLogger } from '../src/logger.js';
import { createServiceHttp } from '../src/adapters/clients/service-http.js';
import { createMetrics } from '../src/metrics.js';

const secret = 'x'.repeat(64);
const token = signToken(secret, 'service', 'sms-agent');
const metrics = createMetrics();
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });
const body = JSON.stringify({ type: 'sms.received', text: 'Hi, I can pay 50 dollars next Friday. Is that ok?', messageId: 'm-1' });

const timer: RequestHandler = (req, res, next) => {
  const stop = metrics.httpSeconds.startTimer({ method: req.method });
  res.on('finish', () => stop({ route: '/v1/conversations/:id/events', status: String(res.statusCode) }));
  next();
};
const steps: Array<[string, RequestHandler]> = [
  ['helmet', helmet()],
  ['request id (AsyncLocalStorage)', requestIdMiddleware],
  ['access log', accessLog(logger)],
  ['metrics histogram timer', timer],
  ['bearer token (passport-jwt)', createAuthenticator({ secret, maxAgeMs: 24 * 3_600_000 })],
  ['express.json', express.json({ limit: '64kb' })],
  ['text guard', textGuard],
];

async function cpuPerRequest(middleware: RequestHandler[], n: number): Promise<number> {
  const app = express();
  app.disable('x-powered-by');
  for (const step of middleware) app.use(step);
  app.post('/v1/conversations/:id/events', (_req, res) => void res.status(202).json({ outcome: 'applied', state: 'drafting' }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const request = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/conversations/c-1/events', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 202 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
      });
      request.on('error', reject);
      request.end(body);
    });
  const run = async (count: number) => {
    let left = count;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (left-- > 0) await one();
    }));
  };
  await run(1_000);
  const started = process.cpuUsage();
  await run(n);
  const used = process.cpuUsage(started);
  agent.destroy();
  await new Promise((resolve) => server.close(resolve));
  return (used.user + used.system) / n;
}

const n = Number(process.env.BENCH_REQUESTS ?? 6_000);

// The token check alone, called directly: small enough to be lost in the noise of the rows below on a busy machine.
{
  const authenticate = createAuthenticator({ secret, maxAgeMs: 24 * 3_600_000 });
  const req = { headers: { authorization: `Bearer ${token}` } } as never;
  const once = () => new Promise<void>((resolve, reject) => authenticate(req, {} as never, (error?: unknown) => (error ? reject(error) : resolve())));
  for (let i = 0; i < 2_000; i++) await once();
  const started = process.cpuUsage();
  for (let i = 0; i < 10 * n; i++) await once();
  const used = process.cpuUsage(started);
  console.log(`bearer token check alone, one token again and again: ${((used.user + used.system) / (10 * n)).toFixed(1)} µs CPU per request`);
}

// An outbound call: the service client against node:http, the same server answering both.
{
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true,"data":{"id":"sms-1"}}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createServiceHttp({ service: 'bench', baseUrl: base, token: () => token, logger });
  const agent = new http.Agent({ keepAlive: true });
  const payload = { to: '+15550100200', body: 'Thanks for your message.', conversation_id: 'c-1' };
  const viaGot = () => client.request('POST', '/sms/send', { json: payload, retry: false });
  const viaHttp = () =>
    new Promise<unknown>((resolve, reject) => {
      const request = http.request(`${base}/sms/send`, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(JSON.parse(text)));
      });
      request.on('error', reject);
      request.end(JSON.stringify(payload));
    });
  const perCall = async (call: () => Promise<unknown>) => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 500; i++) await call();
      const started = process.cpuUsage();
      for (let i = 0; i < n / 2; i++) await call();
      const used = process.cpuUsage(started);
      best = Math.min(best, (used.user + used.system) / (n / 2));
    }
    return best;
  };
  const got = await perCall(viaGot);
  const plain = await perCall(viaHttp);
  console.log(`one outbound call, client and server: ${got.toFixed(1)} µs through the service client (got + cockatiel), ${plain.toFixed(1)} µs through node:http`);
  agent.destroy();
  await new Promise((resolve) => server.close(resolve));
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const rows: Array<[string, number]> = Array.from({ length: steps.length + 1 }, (_, i) => [i === 0 ? 'bare express + client' : steps[i - 1]![0], Number.POSITIVE_INFINITY]);
// Rounds interleave the rows, so that a busy moment of the machine does not land on one row only.
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i <= steps.length; i++) rows[i]![1] = Math.min(rows[i]![1], await cpuPerRequest(steps.slice(0, i).map(([, step]) => step), n));
}
console.log(`CPU per request, µs (${n} requests per row, best of ${rounds}, log level ${process.env.LOG_LEVEL ?? 'silent'}):`);
rows.forEach(([name, us], i) => console.log(`${(i === 0 ? us : us - rows[i - 1]![1]).toFixed(1).padStart(8)}  ${i === 0 ? '' : '+ '}${name}`));
console.log(`${rows.at(-1)![1].toFixed(1).padStart(8)}  all of them`);
