/**
 * One request at a time (c1) over one keep-alive connection, timed from the request's start to the
 * response's end. For latency of a single caller, not throughput; the service must run in another process.
 */
import http from 'node:http';
import { percentiles, type Percentiles } from './stats.js';

export interface RequestSpec {
  /** POST (the default) with a JSON body, or GET without one. */
  method?: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

export interface SequentialResult {
  count: number;
  latencyMs: Percentiles;
  statuses: Record<string, number>;
}

export async function runSequential(baseUrl: string, count: number, request: (index: number) => RequestSpec): Promise<SequentialResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  try {
    for (let index = 0; index < count; index += 1) {
      const spec = request(index);
      const method = spec.method ?? 'POST';
      const body = method === 'GET' ? '' : JSON.stringify(spec.body);
      const headers = method === 'GET' ? spec.headers : { ...spec.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
      const started = performance.now();
      const status = await send(method, new URL(spec.path, baseUrl), headers, body, agent);
      latencies.push(performance.now() - started);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
  return { count, latencyMs: percentiles(latencies), statuses };
}

function send(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
