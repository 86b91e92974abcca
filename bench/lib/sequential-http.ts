/**
 * One request at a time (c1) over one keep-alive connection, timed from the request's start to the
 * response's end. For latency of a single caller, not throughput; the service must run in another process.
 */
import http from 'node:http';
import { percentiles, type Percentiles } from './stats.js';

export interface RequestSpec {
  path: string;
  headers: Record<string, string>;
  body: unknown;
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
      const body = JSON.stringify(spec.body);
      const started = performance.now();
      const status = await post(new URL(spec.path, baseUrl), { ...spec.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body, agent);
      latencies.push(performance.now() - started);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
  return { count, latencyMs: percentiles(latencies), statuses };
}

function post(url: URL, headers: Record<string, string>, body: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
