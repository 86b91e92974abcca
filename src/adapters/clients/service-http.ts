import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
} from 'cockatiel';
import { request as httpRequest } from 'undici';
import { ServiceError } from '../../errors.js';
import { requestContext, type Logger } from '../../logger.js';
import type { DownstreamOutcome } from '../../metrics.js';

/** Per-attempt timeout of one downstream call (docs/architecture.md §6). SERVICE_TIMEOUT overrides it. */
export const DEFAULT_SERVICE_TIMEOUT_MS = 30_000;
/** Tries per call, the first one included. */
export const DEFAULT_RETRY_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_INITIAL_MS = 150;
export const DEFAULT_BACKOFF_MAX_MS = 2_000;
/** Consecutive retryable failures that open the breaker. */
export const DEFAULT_BREAKER_THRESHOLD = 5;
export const DEFAULT_BREAKER_HALF_OPEN_AFTER_MS = 10_000;

export type BreakerState = 'closed' | 'open' | 'half-open';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ResilienceOptions {
  attempts?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  breakerThreshold?: number;
  halfOpenAfterMs?: number;
}

export interface ServiceHttpOptions extends ResilienceOptions {
  /** snake_case name, used in errors (`${service}_unavailable`) and logs. */
  service: string;
  baseUrl: string;
  timeoutMs?: number;
  /** Called for every attempt, so a refreshed token is picked up. */
  token: () => string;
  logger: Logger;
  /** Told how every attempt ended and how long it took (metrics); a call refused by the open breaker is `breaker_open`. */
  observe?: (outcome: DownstreamOutcome, seconds: number) => void;
}

export interface RequestOptions {
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** A name for logs instead of the path, which may hold a phone number (e.g. 'sms.history'). */
  operation?: string;
  /**
   * `false`: one attempt only, still through the breaker, with the timeout and the error mapping. For calls
   * that must not be repeated blindly (a send the service may have accepted before it timed out): the caller's
   * durable job retries instead, after reconciling with what the service already holds.
   */
  retry?: boolean;
}

/** How the last call of one operation ended, for /health/dependencies: only failures worth retrying count. */
export interface CallOutcome {
  ok: boolean;
  at: number;
}

/**
 * Where a call goes: a fixed path (`/sms/send`), or its segments (`['monitor', 'tenant', tenantId]`), each
 * percent-encoded on its own, so a value with `/`, `?` or `#` stays one segment. A segment that encoding
 * cannot keep in place is refused before anything leaves: `''`, `.` and `..` (URLs resolve dot segments,
 * even percent-encoded ones, so `/monitor/tenant/..` would call `/monitor/`).
 */
export type ServicePath = string | readonly string[];

function resolvePath(service: string, path: ServicePath): string {
  if (typeof path === 'string') return path;
  return path
    .map((segment) => {
      if (segment === '' || segment === '.' || segment === '..') {
        throw new ServiceError(service, `${service} call refused: a path segment may not be empty, "." or ".."`, false);
      }
      return `/${encodeURIComponent(segment)}`;
    })
    .join('');
}

export interface ServiceHttp {
  request<T>(method: HttpMethod, path: ServicePath, options?: RequestOptions): Promise<T>;
  breakerState(): BreakerState;
  /** The last outcome of `operation` in this process (`RequestOptions.operation`), or null. */
  lastOutcome(operation: string): CallOutcome | null;
}

/**
 * One cockatiel policy (retry around a circuit breaker) per downstream service over undici's `request`; a
 * request with `retry: false` goes through the breaker alone. undici never retries a request of its own, so
 * only the policy does; every failure leaves as a ServiceError that says whether trying again may help.
 * undici rather than got: a call costs the caller ~0.1 ms of CPU against ~0.4 (docs/benchmarks.md, "The seventh pass").
 */
export function createServiceHttp(options: ServiceHttpOptions): ServiceHttp {
  const { service, token } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SERVICE_TIMEOUT_MS;
  const attempts = Math.max(1, options.attempts ?? DEFAULT_RETRY_ATTEMPTS);
  const log = options.logger.child({ service });
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  // Only failures that another try may fix count: 5xx, timeouts, network errors. Not 4xx, and not a caller's
  // abort (shutdown, its own deadline): that says nothing about the service, so it neither retries here nor
  // trips the breaker, yet stays retryable for whoever runs the job again.
  const cancelled = new WeakSet<ServiceError>();
  const isTransient = (error: unknown) => error instanceof ServiceError && error.retryable && !cancelled.has(error);
  const breaker = circuitBreaker(handleWhen(isTransient), {
    breaker: new ConsecutiveBreaker(options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD),
    halfOpenAfter: options.halfOpenAfterMs ?? DEFAULT_BREAKER_HALF_OPEN_AFTER_MS,
  });
  const retrying = retry(handleWhen(isTransient), {
    maxAttempts: attempts - 1,
    backoff: new ExponentialBackoff({
      initialDelay: options.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS,
      maxDelay: options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
    }),
  });
  const policy = wrap(retrying, breaker);

  retrying.onRetry(({ attempt, delay, ...reason }) => {
    const error = 'error' in reason ? reason.error : undefined;
    log.warn({ attempt, delayMs: Math.round(delay), upstreamStatus: (error as ServiceError | undefined)?.upstreamStatus }, 'downstream call failed, retrying');
  });
  breaker.onBreak(() => log.error('circuit breaker opened: calls fail fast until it half-opens'));
  breaker.onHalfOpen(() => log.info('circuit breaker half-open: trying one call'));
  breaker.onReset(() => log.info('circuit breaker closed'));

  const observe = options.observe ?? (() => {});

  async function attempt<T>(method: HttpMethod, path: string, request: RequestOptions, signal: AbortSignal): Promise<T> {
    const requestId = requestContext.getStore()?.requestId;
    const startedAt = Date.now();
    const seconds = () => (Date.now() - startedAt) / 1000;
    // One deadline for the whole attempt (connect, headers and body), beside the caller's own signal. Its timer
    // is cleared when the attempt ends (AbortSignal.timeout would keep one pending for 30 s after every call).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      const response = await httpRequest(`${baseUrl}${path}`, {
        method,
        body: request.json === undefined ? undefined : JSON.stringify(request.json),
        signal: AbortSignal.any([signal, deadline.signal]),
        headers: {
          accept: 'application/json',
          ...(request.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...request.headers,
          authorization: `Bearer ${token()}`,
          ...(requestId ? { 'x-request-id': requestId } : {}),
        },
      });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) throw new UpstreamStatus(response.statusCode, text);
      log.debug({ method, operation: request.operation, status: response.statusCode, ms: Date.now() - startedAt }, 'downstream call');
      const body = (text ? JSON.parse(text) : undefined) as T;
      observe('ok', seconds());
      return body;
    } catch (error) {
      const ended = signal.aborted ? 'cancelled' : deadline.signal.aborted ? 'timeout' : undefined;
      observe(attemptOutcome(error, ended), seconds());
      const mapped = toServiceError(service, error, ended);
      if (signal.aborted) cancelled.add(mapped);
      log.debug({ method, operation: request.operation, upstreamStatus: mapped.upstreamStatus, retryable: mapped.retryable, ms: Date.now() - startedAt }, 'downstream call failed');
      throw mapped;
    } finally {
      clearTimeout(timer);
    }
  }

  const outcomes = new Map<string, CallOutcome>();
  const record = (operation: string | undefined, ok: boolean) => {
    if (operation) outcomes.set(operation, { ok, at: Date.now() });
  };

  return {
    async request<T>(method: HttpMethod, where: ServicePath, request: RequestOptions = {}): Promise<T> {
      const path = resolvePath(service, where);
      try {
        const guard = request.retry === false ? breaker : policy;
        const result = await guard.execute(({ signal }) => attempt<T>(method, path, request, signal), request.signal);
        record(request.operation, true);
        return result;
      } catch (error) {
        // A refusal of this one request (a 4xx) says nothing about the service; an outage, a timeout or an open breaker does.
        if (!(error instanceof ServiceError) || error.retryable) record(request.operation, false);
        if (error instanceof ServiceError) throw error;
        if (error instanceof BrokenCircuitError) {
          observe('breaker_open', 0);
          throw new ServiceError(service, `${service} circuit breaker is open`, true, undefined, { cause: error });
        }
        if (error instanceof TaskCancelledError || request.signal?.aborted) {
          throw new ServiceError(service, `${service} call cancelled`, true, undefined, { cause: error });
        }
        throw new ServiceError(service, `${service} call failed: ${(error as Error).message}`, true, undefined, { cause: error });
      }
    },
    lastOutcome(operation: string) {
      return outcomes.get(operation) ?? null;
    },
    breakerState(): BreakerState {
      switch (breaker.state) {
        case CircuitState.Closed:
          return 'closed';
        case CircuitState.HalfOpen:
          return 'half-open';
        default:
          return 'open';
      }
    },
  };
}

/** An answer outside 2xx (the service answered, and said no). */
class UpstreamStatus extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`answered ${status}`);
  }
}

/** Why an attempt ended early, when it did: the caller's abort, or the attempt's own deadline. */
type EndedEarly = 'cancelled' | 'timeout' | undefined;

/** An attempt's failure → its outcome label (a bounded set, for metrics). */
function attemptOutcome(error: unknown, ended: EndedEarly): DownstreamOutcome {
  if (error instanceof UpstreamStatus) return error.status >= 500 ? 'http_5xx' : 'http_4xx';
  if (ended) return ended;
  if (error instanceof SyntaxError) return 'invalid_response';
  return 'network';
}

/**
 * An attempt's failure → ServiceError. 5xx, timeouts and network errors are retryable; so are 408 and 429,
 * which ask to be tried again later. Other answers outside 2xx are not: the same request would fail the same way.
 */
function toServiceError(service: string, error: unknown, ended: EndedEarly): ServiceError {
  if (error instanceof UpstreamStatus) {
    const { status } = error;
    const upstream = upstreamMessage(error.body);
    const message = `${service} answered ${status}${upstream ? `: ${upstream}` : ''}`;
    return new ServiceError(service, message, status >= 500 || status === 429 || status === 408, status, { cause: error });
  }
  if (ended === 'cancelled') return new ServiceError(service, `${service} call cancelled`, true, undefined, { cause: error });
  if (ended === 'timeout') return new ServiceError(service, `${service} timed out`, true, undefined, { cause: error });
  if (error instanceof SyntaxError) {
    return new ServiceError(service, `${service} answered a body that is not JSON`, false, undefined, { cause: error });
  }
  const code = (error as { code?: unknown })?.code;
  return new ServiceError(service, `${service} unreachable (${typeof code === 'string' ? code : (error as Error)?.message ?? String(error)})`, true, undefined, { cause: error });
}

/** `{error: {code, message}}` → "code: message"; anything else is ignored (and never logged: it may hold personal data). */
function upstreamMessage(body: unknown): string | undefined {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof parsed?.error?.code === 'string' ? parsed.error.code : undefined;
    const message = typeof parsed?.error?.message === 'string' ? parsed.error.message : undefined;
    if (!code && !message) return undefined;
    return [code, message].filter(Boolean).join(': ').slice(0, 300);
  } catch {
    return undefined;
  }
}
