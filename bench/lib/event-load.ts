/**
 * Event load over HTTP against one or more API processes: autocannon, in a child process (its own event
 * loop), posts `sms.received` events to `POST /v1/conversations/{id}/events` on random ones of the given
 * conversations, each with a fresh Idempotency-Key. The connections are split evenly across the URLs (one
 * autocannon instance per URL), as a load balancer would.
 *
 * With `recordAcknowledged`, the answer lists every key acknowledged with a 2xx, so that a soak can check
 * afterwards that each was applied exactly once. Connections whose process is killed fail and reconnect,
 * counted under `errors`.
 *
 * Parent: `runEventLoad()` forks this file. Child: `runChild()` below.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { percentiles, type Percentiles } from './stats.js';

export const EVENT_TEXT = 'Is my account still open? I will call you next week.';

export interface EventLoadOrder {
  urls: string[];
  token: string;
  conversationIds: string[];
  connections: number;
  seconds: number;
  /** Load before the measured window, not counted (0: none). */
  warmupSeconds: number;
  keyPrefix: string;
  recordAcknowledged: boolean;
  /** The SMS text of every event (default EVENT_TEXT). */
  text?: string;
}

export interface EventLoadResult {
  /** Date.now() when the measured window began (after the warm-up) and ended. */
  measuredFrom: number;
  measuredTo: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: Percentiles;
  /** Keys acknowledged with a 2xx, warm-up included (only with recordAcknowledged). */
  acknowledged: string[];
  cpuMs: number;
  /** The measured window as autocannon timed it, s. */
  seconds: number;
  /** Responses in the measured window. */
  requests: number;
  /** autocannon's own percentiles (of the first URL's instance), to compare with `latencyMs`. */
  autocannonLatencyMs: { p50: number; p97_5: number; p99: number };
  warmup: { requests: number; non2xx: number; errors: number };
  /** `outcome` of each answer's body (applied, recorded…), or `http <status>`; warm-up included. */
  outcomes: Record<string, number>;
  rssMb: number;
}

type FromChild = { kind: 'measuring' } | { kind: 'result'; result: EventLoadResult };

export function runEventLoad(order: EventLoadOrder, onMeasuring: () => void = () => {}): Promise<EventLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--event-load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), (order.seconds + order.warmupSeconds + 60) * 1000);
    child.on('message', (message: FromChild) => {
      if (message.kind === 'measuring') return onMeasuring();
      clearTimeout(killer);
      resolve(message.result);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      reject(new Error(`event load generator exited (${code}) without a result`)); // a no-op after resolve
    });
    child.send(order);
  });
}

type Instance = autocannon.Instance & Promise<autocannon.Result & { warmup?: autocannon.Result }>;

function runChild() {
  process.once('message', async (order: EventLoadOrder) => {
    let counter = 0;
    const latencies: number[] = [];
    const acknowledged: string[] = [];
    const outcomes: Record<string, number> = {};
    let cpuAtStart = process.cpuUsage();
    let measuredFrom = 0;
    const share = (i: number) => Math.floor(order.connections / order.urls.length) + (i < order.connections % order.urls.length ? 1 : 0);

    const instances = order.urls.map((url, i) => {
      const connections = share(i);
      const instance = autocannon({
        url,
        connections,
        duration: order.seconds,
        ...(order.warmupSeconds > 0 ? { warmup: { connections, duration: order.warmupSeconds } } : {}),
        timeout: 30,
        requests: [
          {
            method: 'POST',
            // One request at a time per connection, so the context names the request being answered.
            setupRequest: (request: any, context: Record<string, string>) => {
              const id = order.conversationIds[Math.floor(Math.random() * order.conversationIds.length)];
              counter += 1;
              context.key = `${order.keyPrefix}${counter}`;
              return {
                ...request,
                method: 'POST',
                path: `/v1/conversations/${encodeURIComponent(id!)}/events`,
                headers: { 'content-type': 'application/json', authorization: `Bearer ${order.token}`, 'idempotency-key': context.key },
                body: JSON.stringify({ type: 'sms.received', text: order.text ?? EVENT_TEXT }),
              };
            },
            onResponse: (status: number, body: string, context: Record<string, string>) => {
              if (order.recordAcknowledged && status >= 200 && status < 300) acknowledged.push(context.key!);
              let outcome = `http ${status}`;
              try {
                if (status < 300) outcome = String(JSON.parse(body).outcome);
              } catch {
                // a body that is not JSON keeps the status as its outcome
              }
              outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
            },
          },
        ],
      } as autocannon.Options) as unknown as Instance;
      // The measured run's 'start' comes after its warm-up.
      instance.on('start', () => {
        if (measuredFrom !== 0) return;
        measuredFrom = Date.now();
        cpuAtStart = process.cpuUsage();
        process.send!({ kind: 'measuring' } satisfies FromChild);
      });
      instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
      return instance;
    });
    const results = await Promise.all(instances);
    const measuredTo = Date.now();
    const cpu = process.cpuUsage(cpuAtStart);
    const statusCodes: Record<string, number> = {};
    for (const result of results) {
      for (const [code, stats] of Object.entries((result as any).statusCodeStats ?? {})) statusCodes[code] = (statusCodes[code] ?? 0) + (stats as { count: number }).count;
    }
    const sum = (pick: (result: autocannon.Result) => number) => results.reduce((total, result) => total + pick(result), 0);
    const result: EventLoadResult = {
      measuredFrom,
      measuredTo,
      ok2xx: sum((r) => r['2xx']),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      statusCodes,
      latencyMs: percentiles(latencies),
      acknowledged,
      cpuMs: (cpu.user + cpu.system) / 1000,
      seconds: results[0]!.duration,
      requests: latencies.length,
      autocannonLatencyMs: { p50: results[0]!.latency.p50, p97_5: results[0]!.latency.p97_5, p99: results[0]!.latency.p99 },
      warmup: {
        requests: sum((r) => (r as typeof r & { warmup?: autocannon.Result }).warmup?.requests.total ?? 0),
        non2xx: sum((r) => (r as typeof r & { warmup?: autocannon.Result }).warmup?.non2xx ?? 0),
        errors: sum((r) => (r as typeof r & { warmup?: autocannon.Result }).warmup?.errors ?? 0),
      },
      outcomes,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    };
    process.send!({ kind: 'result', result } satisfies FromChild, () => process.exit(0));
  });
}

if (process.argv[2] === '--event-load') runChild();
