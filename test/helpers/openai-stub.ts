/**
 * A local OpenAI-compatible server for tests, driven through the real `openai` SDK. Each test scripts the
 * answers it expects, in order; every request takes the next one. An empty queue answers 500 with
 * `x-should-retry: false`, so a test that asked more than it scripted fails fast and says why.
 *
 *   const stub = await startOpenAiStub();
 *   stub.enqueue({ json: { reply: '…', intents: ['greeting'], plan: null, confidence: 0.9, reasons: [] } });
 *   stub.enqueue({ status: 429 });            // retry-after-ms: 10, so the SDK retries at once
 *   stub.enqueue({ delayMs: 500, json: … });  // answers late (to exercise timeouts)
 *
 * With `always` (the turn benchmark), a request that finds the queue empty gets that reply instead of a 500.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubReply {
  /** The model's answer as an object; sent as its JSON text in message.content. */
  json?: unknown;
  /** The model's answer as a raw string (malformed JSON, prose…). Wins over `json`. */
  content?: string | null;
  /** An HTTP error instead of a completion. */
  status?: number;
  /** Error body; defaults to an OpenAI-style `{ error: { message, type, code } }`. */
  body?: unknown;
  /** Extra or overriding response headers. Errors get `retry-after-ms: 10` unless overridden. */
  headers?: Record<string, string>;
  /** Waits this long before answering (a client that gives up first is noticed and the reply dropped). */
  delayMs?: number;
  finishReason?: 'stop' | 'length' | 'content_filter';
  refusal?: string;
  /** Overrides the model name echoed back (defaults to the request's). */
  model?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (null if it was not JSON). */
  body: any;
}

export interface OpenAiStub {
  /** e.g. http://127.0.0.1:54321/v1 — pass as the SDK's baseURL. */
  baseUrl: string;
  enqueue(...replies: StubReply[]): void;
  /** Every request received, in order, including retries. */
  requests: RecordedRequest[];
  /** Scripted replies not yet consumed. */
  pending(): number;
  /** Drops unconsumed replies and recorded requests (between tests). */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_USAGE = { prompt_tokens: 321, completion_tokens: 54, total_tokens: 375 };

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

export async function startOpenAiStub(options: { always?: StubReply } = {}): Promise<OpenAiStub> {
  const queue: StubReply[] = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = null;
      }
      const path = (req.url ?? '/').split('?')[0];
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });

      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        sendJson(res, 404, { error: { message: `openai-stub: no route ${req.method} ${path}`, type: 'invalid_request_error', code: null } }, { 'x-should-retry': 'false' });
        return;
      }
      const reply = queue.shift() ?? options.always;
      if (!reply) {
        sendJson(
          res,
          500,
          { error: { message: 'openai-stub: no scripted reply left for this request (enqueue one per expected call, retries included)', type: 'stub_error', code: 'queue_empty' } },
          { 'x-should-retry': 'false' },
        );
        return;
      }

      const answer = () => {
        if (res.destroyed || res.writableEnded) return;
        if (reply.status !== undefined) {
          sendJson(
            res,
            reply.status,
            reply.body ?? { error: { message: `openai-stub: scripted ${reply.status}`, type: reply.status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } },
            { 'retry-after-ms': '10', ...reply.headers },
          );
          return;
        }
        const content = reply.content !== undefined ? reply.content : reply.json !== undefined ? JSON.stringify(reply.json) : '';
        sequence += 1;
        sendJson(
          res,
          200,
          {
            id: `chatcmpl-stub-${sequence}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: reply.model ?? body?.model ?? 'stub-model',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content, refusal: reply.refusal ?? null },
                logprobs: null,
                finish_reason: reply.finishReason ?? 'stop',
              },
            ],
            usage: reply.usage ?? DEFAULT_USAGE,
          },
          reply.headers,
        );
      };

      if (reply.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, reply.delayMs);
        timers.add(timer);
        // The client gave up (timeout, abort): forget the answer rather than write to a dead socket.
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
      } else {
        answer();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    enqueue: (...replies) => queue.push(...replies),
    requests,
    pending: () => queue.length,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
