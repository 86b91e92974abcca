import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';

/** What every simulator shares: the services' error body, fault injection for tests, listen/close. */

export function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

export function validationDetails(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

/**
 * A fault set in-process (`setFault`) or over HTTP (`POST /_control/faults`), until it ends (`for_ms`),
 * runs out (`count` requests) or is cleared (`DELETE /_control/faults`, `setFault(null)`):
 * - `down`: every request, `/health` included, answers `status` (503) and stores nothing;
 * - `fail_sends`: requests that write (any method but GET) answer `status`; reads answer as usual;
 * - `timeout_after_receive`: writes are done (an SMS is stored) but answered `delay_ms` late, or, without
 *   `delay_ms`, only when the fault ends: the caller's timeout fires after its request left.
 */
export const faultSpec = z
  .object({
    mode: z.enum(['down', 'fail_sends', 'timeout_after_receive']),
    for_ms: z.number().int().positive().max(3_600_000).optional(),
    count: z.number().int().positive().max(1_000_000).optional(),
    status: z.number().int().min(400).max(599).optional(),
    delay_ms: z.number().int().positive().max(600_000).optional(),
  })
  .strict();
export type FaultSpec = z.infer<typeof faultSpec>;

export interface ActiveFault {
  mode: FaultSpec['mode'];
  status: number;
  /** When it ends by itself (ms since the epoch), or null. */
  until: number | null;
  /** Requests it still affects, or null for any number. */
  remaining: number | null;
  delayMs: number | null;
}

export interface SimulatorControls {
  /** Answer the next `count` requests (health aside) with `status`, storing nothing. */
  failNext(count: number, status?: number): void;
  /** Delay every answer by `ms` (the work itself, e.g. storing a message, happens at once). */
  setResponseDelay(ms: number): void;
  /** Sets (or, with null, clears) the fault the control endpoint sets; clearing releases held answers. */
  setFault(spec: FaultSpec | null): ActiveFault | null;
  readonly fault: ActiveFault | null;
  /** Requests that reached the simulator (health aside), failed ones included. */
  readonly requestCount: number;
  /** Headers of the last such request (to check Authorization / X-Request-Id / Idempotency-Key). */
  readonly lastHeaders: Readonly<Record<string, string | string[] | undefined>>;
}

export type Faults = ReturnType<typeof createFaults>;

/** `control`: whether `/_control/faults` may change anything (only simulators started outside production). */
export function createFaults(options: { control?: boolean } = {}) {
  let failures: { remaining: number; status: number } = { remaining: 0, status: 503 };
  let delayMs = 0;
  let requestCount = 0;
  let lastHeaders: Record<string, string | string[] | undefined> = {};
  let fault: ActiveFault | null = null;
  let faultExpiry: NodeJS.Timeout | undefined;
  const pending = new Set<{ timer?: NodeJS.Timeout; resolve: () => void }>();
  /** Requests a `timeout_after_receive` fault answers late. */
  const late = new WeakSet<Request>();

  /** The fault, if it applies to this request; counts it against `count`. */
  const faultFor = (req: Request, atHealth: boolean): ActiveFault | null => {
    if (!fault || (fault.remaining !== null && fault.remaining <= 0)) return null;
    const applies = fault.mode === 'down' || (!atHealth && req.method !== 'GET');
    if (!applies) return null;
    if (fault.remaining !== null) fault.remaining -= 1;
    return fault;
  };

  const middleware = (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/health') {
      const down = faultFor(req, true);
      return down ? sendError(res, down.status, 'simulated_outage', `simulated ${down.status}`) : next();
    }
    requestCount += 1;
    lastHeaders = { ...req.headers };
    if (failures.remaining > 0) {
      failures.remaining -= 1;
      return sendError(res, failures.status, failures.status >= 500 ? 'simulated_outage' : 'simulated_rejection', `simulated ${failures.status}`);
    }
    const active = faultFor(req, false);
    if (active?.mode === 'timeout_after_receive') late.add(req);
    else if (active) return sendError(res, active.status, 'simulated_outage', `simulated ${active.status}`);
    next();
  };

  /** Awaited by handlers just before they answer, after doing the work. */
  const delay = (req: Request): Promise<void> => {
    const lateBy = late.has(req) ? (fault?.delayMs ?? Infinity) : delayMs;
    if (lateBy <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry: { timer?: NodeJS.Timeout; resolve: () => void } = { resolve };
      if (Number.isFinite(lateBy)) entry.timer = setTimeout(() => settle(entry), lateBy);
      pending.add(entry);
    });
  };
  const settle = (entry: { timer?: NodeJS.Timeout; resolve: () => void }) => {
    clearTimeout(entry.timer);
    pending.delete(entry);
    entry.resolve();
  };
  const releaseAll = () => {
    for (const entry of [...pending]) settle(entry);
  };

  const setFault = (spec: FaultSpec | null): ActiveFault | null => {
    clearTimeout(faultExpiry);
    if (!spec) {
      fault = null;
      releaseAll();
      return null;
    }
    fault = {
      mode: spec.mode,
      status: spec.status ?? 503,
      until: spec.for_ms ? Date.now() + spec.for_ms : null,
      remaining: spec.count ?? null,
      delayMs: spec.delay_ms ?? null,
    };
    if (spec.for_ms) faultExpiry = setTimeout(() => setFault(null), spec.for_ms).unref();
    return fault;
  };

  const controls: SimulatorControls = {
    failNext(count, status = 503) {
      failures = { remaining: count, status };
    },
    setResponseDelay(ms) {
      delayMs = ms;
    },
    setFault,
    get fault() {
      return fault;
    },
    get requestCount() {
      return requestCount;
    },
    get lastHeaders() {
      return lastHeaders;
    },
  };

  return {
    middleware,
    delay,
    controls,
    control: options.control ?? false,
    /** Clears failures, faults and delay, releases delayed answers (no timer outlives a test). */
    reset() {
      failures = { remaining: 0, status: 503 };
      delayMs = 0;
      requestCount = 0;
      lastHeaders = {};
      setFault(null);
    },
  };
}

const showFault = (fault: ActiveFault | null) =>
  fault && {
    mode: fault.mode,
    status: fault.status,
    until: fault.until === null ? null : new Date(fault.until).toISOString(),
    remaining: fault.remaining,
    delay_ms: fault.delayMs,
  };

/**
 * An app with what every simulator starts with: JSON bodies, a health route, fault injection, and the
 * fault control endpoint (docs/runbook.md, "Faults on purpose"), which refuses with 403 unless enabled.
 */
export function createSimulatorApp(faults: Faults): express.Express {
  const app = express();
  app.use(express.json({ limit: '100kb' }));
  app.get('/health', faults.middleware, (_req, res) => {
    res.json({ status: 'ok', simulator: true });
  });
  const control = express.Router();
  control.use((_req, res, next) =>
    faults.control ? next() : sendError(res, 403, 'fault_control_disabled', 'fault injection is off (simulators in production are never controllable)'),
  );
  control.get('/faults', (_req, res) => {
    res.json({ fault: showFault(faults.controls.fault), request_count: faults.controls.requestCount });
  });
  control.post('/faults', (req, res) => {
    const parsed = faultSpec.safeParse(req.body ?? {});
    if (!parsed.success) return sendError(res, 400, 'validation_error', 'invalid fault', validationDetails(parsed.error));
    res.status(201).json({ fault: showFault(faults.controls.setFault(parsed.data)) });
  });
  control.delete('/faults', (_req, res) => {
    faults.controls.setFault(null);
    res.json({ fault: null });
  });
  app.use('/_control', control);
  app.use(faults.middleware);
  return app;
}

/** Adds the shared controls (and a reset that also clears the simulator's own state) to a simulator. */
export type OwnPart<S> = Omit<S, keyof SimulatorControls | 'reset'>;

export function withControls<S extends SimulatorControls & { reset(): void }>(faults: Faults, simulator: OwnPart<S>, resetOwnState: () => void): S {
  return Object.defineProperties(simulator, {
    failNext: { value: faults.controls.failNext, enumerable: true },
    setResponseDelay: { value: faults.controls.setResponseDelay, enumerable: true },
    setFault: { value: faults.controls.setFault, enumerable: true },
    fault: { get: () => faults.controls.fault, enumerable: true },
    requestCount: { get: () => faults.controls.requestCount, enumerable: true },
    lastHeaders: { get: () => faults.controls.lastHeaders, enumerable: true },
    reset: {
      value: () => {
        faults.reset();
        resetOwnState();
      },
      enumerable: true,
    },
  }) as S;
}

/** The 404 and error handlers every simulator ends with, answering in the services' error shape. */
export function finishApp(app: express.Express): void {
  app.use((req: Request, res: Response) => sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`));
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (error.type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'request body is not valid JSON');
    sendError(res, error.status ?? 500, 'internal_error', error.message);
  });
}

export async function listen(app: express.Express, port: number, host: string): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const candidate = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(candidate)));
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${shownHost}:${address.port}` };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
