/**
 * `tsx bench/http-client-costs.ts`: what one downstream call costs the caller's CPU, by client. A POST of a
 * send's size to a local server in another process (so only the client's work is in this process's CPU):
 * undici's `request` as src/adapters/clients/service-http.ts calls it (got until 2026-12-05: 0.36–0.55 ms a call
 * here, against undici's 0.09–0.12), Node's `fetch` (what the openai SDK uses), and Node's `http.request` on a
 * keep-alive agent. 3,000 sequential calls each after 500 of warm-up, three
 * rounds. A reading aid for docs/benchmarks.md ("What a burst's p95 is made of"); it writes no report.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { request } from 'undici';

if (process.argv[2] === '--server') {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end('{"id":"sms_1","status":"queued"}');
    });
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ['--server'], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => child.once('message', (message) => resolve(message as number)));
  const url = `http://127.0.0.1:${port}/sms/send`;
  const body = { to: '+15551234567', body: 'Hello, your balance is $120.00. Reply STOP to opt out.', conversationId: 'c1' };
  const headers = { accept: 'application/json', authorization: 'Bearer abc.def.ghi', 'x-request-id': 'r1' };
  const agent = new http.Agent({ keepAlive: true });
  const clients: Array<[string, () => Promise<unknown>]> = [
    [
      'undici',
      async () => {
        const signal = AbortSignal.any([new AbortController().signal, AbortSignal.timeout(30_000)]);
        const response = await request(url, { method: 'POST', body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' }, signal });
        return JSON.parse(await response.body.text());
      },
    ],
    [
      'fetch',
      async () =>
        (await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' }, signal: new AbortController().signal })).json(),
    ],
    [
      'http.request',
      () =>
        new Promise((resolve, reject) => {
          const payload = JSON.stringify(body);
          const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (text += chunk));
            response.on('end', () => resolve(JSON.parse(text)));
          });
          request.on('error', reject);
          request.end(payload);
        }),
    ],
  ];
  for (const round of [1, 2, 3]) {
    for (const [name, call] of clients) {
      for (let i = 0; i < 500; i++) await call();
      const calls = 3_000;
      const before = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < calls; i++) await call();
      const used = process.cpuUsage(before);
      console.log(`round ${round}  ${name.padEnd(12)}  CPU ${((used.user + used.system) / calls).toFixed(0)} µs per call, wall ${(((performance.now() - started) * 1000) / calls).toFixed(0)} µs`);
    }
  }
  agent.destroy();
  child.kill();
}
