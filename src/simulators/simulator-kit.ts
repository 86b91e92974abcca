import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';

/** What every simulator shares: the services' error body, fault injection for tests, listen/close. */

export function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

export function validationDetails(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

export interface SimulatorControls {
  /** Answer the next `count` requests (health aside) with `status`, storing nothing. */
  failNext(count: number, status?: number): void;
  /** Delay every answer by `ms` (the work itself, e.g. storing a message, happens at once). */
  setResponseDelay(ms: number): void;
  /** Requests that reached the simulator (health aside), failed ones included. */
  readonly requestCount: number;
  /** Headers of the last such request (to check Authorization / X-Request-Id / Idempotency-Key). */
  readonly lastHeaders: Readonly<Record<string, string | string[] | undefined>>;
}

export type Faults = ReturnType<typeof createFaults>;

export function createFaults() {
  let failures: { remaining: number; status: number } = { remaining: 0, status: 503 };
  let delayMs = 0;
  let requestCount = 0;
  let lastHeaders: Record<string, string | string[] | undefined> = {};
  const pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const middleware = (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/health') return next();
    requestCount += 1;
    lastHeaders = { ...req.headers };
    if (failures.remaining > 0) {
      failures.remaining -= 1;
      return sendError(res, failures.status, failures.status >= 500 ? 'simulated_outage' : 'simulated_rejection', `simulated ${failures.status}`);
    }
    next();
  };

  /** Awaited by handlers just before they answer. */
  const delay = (): Promise<void> => {
    if (delayMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => settle(entry), delayMs), resolve };
      pending.add(entry);
    });
  };
  const settle = (entry: { timer: NodeJS.Timeout; resolve: () => void }) => {
    clearTimeout(entry.timer);
    pending.delete(entry);
    entry.resolve();
  };

  const controls: SimulatorControls = {
    failNext(count, status = 503) {
      failures = { remaining: count, status };
    },
    setResponseDelay(ms) {
      delayMs = ms;
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
    /** Clears failures and delay, releases delayed answers (no timer outlives a test). */
    reset() {
      failures = { remaining: 0, status: 503 };
      delayMs = 0;
      requestCount = 0;
      lastHeaders = {};
      for (const entry of [...pending]) settle(entry);
    },
  };
}

/** An app with what every simulator starts with: JSON bodies, a health route, fault injection. */
export function createSimulatorApp(faults: Faults): express.Express {
  const app = express();
  app.use(express.json({ limit: '100kb' }));
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', simulator: true });
  });
  app.use(faults.middleware);
  return app;
}

/** Adds the shared controls (and a reset that also clears the simulator's own state) to a simulator. */
export type OwnPart<S> = Omit<S, keyof SimulatorControls | 'reset'>;

export function withControls<S extends SimulatorControls & { reset(): void }>(faults: Faults, simulator: OwnPart<S>, resetOwnState: () => void): S {
  return Object.defineProperties(simulator, {
    failNext: { value: faults.controls.failNext, enumerable: true },
    setResponseDelay: { value: faults.controls.setResponseDelay, enumerable: true },
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
