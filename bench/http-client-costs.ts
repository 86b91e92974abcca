import http from 'node:http';
import got from 'got';
const url = 'http://127.0.0.1:9911/sms/send';
const body = { to: '+15551234567', body: 'Hello, your balance is $120.00. Reply STOP to opt out.', conversationId: 'c1' };
const headers = { accept: 'application/json', authorization: 'Bearer abc.def.ghi', 'x-request-id': 'r1' };
const client = got.extend({ retry: { limit: 0 }, timeout: { request: 30000 }, throwHttpErrors: true, responseType: 'text' });
const agent = new http.Agent({ keepAlive: true });
const viaGot = async () => JSON.parse((await client(url, { method: 'POST', json: body, headers, signal: new AbortController().signal })).body);
const viaFetch = async () => (await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' }, signal: new AbortController().signal })).json();
const viaHttp = () => new Promise((resolve, reject) => {
  const payload = JSON.stringify(body);
  const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
    let text = ''; res.setEncoding('utf8'); res.on('data', (c) => (text += c)); res.on('end', () => resolve(JSON.parse(text)));
  });
  req.on('error', reject); req.end(payload);
});
for (const [name, fn] of [['got', viaGot], ['fetch', viaFetch], ['http', viaHttp], ['got', viaGot], ['fetch', viaFetch], ['http', viaHttp]] as const) {
  for (let i = 0; i < 500; i++) await fn();
  const n = 3000; const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const c = process.cpuUsage(c0);
  console.log(name, 'cpu µs/call', ((c.user + c.system) / n).toFixed(0), 'wall µs/call', ((performance.now() - t0) * 1000 / n).toFixed(0));
}
