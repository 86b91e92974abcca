import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { undiciFetch } from '../../src/adapters/drafting/undici-fetch.js';

/** What the server last received, and how it answers: a path per behaviour. */
let last: { method?: string; headers: http.IncomingHttpHeaders; body: string } = { headers: {}, body: '' };
let base = '';
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    last = { method: req.method, headers: req.headers, body };
    if (req.url === '/empty') return res.writeHead(204).end();
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000).unref();
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.setHeader('retry-after-ms', '10');
    res.writeHead(req.url === '/teapot' ? 418 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ echoed: body }));
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('undiciFetch (the openai SDK fetch)', () => {
  it('when a JSON body is posted, then method, headers and body arrive and the answer reads as fetch would give it', async () => {
    const response = await undiciFetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer sk-test', 'content-type': 'application/json' }),
      body: '{"model":"gpt-4o"}',
    });
    expect(last).toMatchObject({ method: 'POST', body: '{"model":"gpt-4o"}', headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' } });
    // Node's fetch would add its browser headers; this path sends only what it is given.
    expect(last.headers['sec-fetch-mode']).toBeUndefined();
    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.headers.get('retry-after-ms')).toBe('10');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.json()).toEqual({ echoed: '{"model":"gpt-4o"}' });
  });

  it('when the answer is an error status, then it is a response (not a throw) with its body', async () => {
    const response = await undiciFetch(new URL(`${base}/teapot`), { headers: { accept: 'application/json' } });
    expect(last.method).toBe('GET');
    expect(response.status).toBe(418);
    expect(response.ok).toBe(false);
    expect(await response.text()).toBe('{"echoed":""}');
  });

  it('when the answer has no body (204), then the response has none instead of throwing', async () => {
    const response = await undiciFetch(`${base}/empty`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('when the signal aborts, then the call rejects with an AbortError (what the SDK maps to its timeout)', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(undiciFetch(`${base}/slow`, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('when the body is not a string (a form), then the global fetch sends it', async () => {
    const form = new FormData();
    form.set('purpose', 'batch');
    const response = await undiciFetch(`${base}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(last.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(last.headers['sec-fetch-mode']).toBe('cors');
    expect(last.body).toContain('name="purpose"');
  });
});
