import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.js';

/** Health probes and Prometheus scrapes come every few seconds: logged at debug, not info. */
const QUIET_ROUTES = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/** The route as declared (`/v1/conversations/:id`), never the URL: ids in paths may be conversation ids, queries may hold anything. */
export function routeTemplate(req: IncomingMessage): string {
  const { route, baseUrl } = req as Request;
  return route ? `${baseUrl ?? ''}${String(route.path)}` : 'unmatched';
}

/**
 * One line per request through pino-http, written when the response is done: method, route template,
 * status, duration in ms, and the request id (X-Request-Id, as on every other line of the request). No URL,
 * query, header or body, so nothing personal. Errors themselves are logged by the error handler.
 */
export function accessLog(logger: Logger): RequestHandler {
  // The request id goes in the line itself, not in bindings: the logger's mixin (src/logger.ts) also writes it
  // when the request's context is current, and a line's own fields replace the mixin's, where bindings would not.
  const fields = (req: IncomingMessage, res: ServerResponse, ms: number) => ({
    requestId: (res as unknown as Response).locals.requestId as string,
    method: req.method,
    route: routeTemplate(req),
    status: res.statusCode,
    ms,
  });
  return pinoHttp({
    logger,
    genReqId: (_req, res) => (res as unknown as Response).locals.requestId as string,
    // The line is written by the logger itself, without a `req` or `res` binding; `req.log` (unused) binds the method only.
    quietResLogger: true,
    wrapSerializers: false,
    serializers: { req: (req: IncomingMessage) => ({ method: req.method }) },
    customLogLevel: (req, res, error) => {
      if (error || res.statusCode >= 500) return 'error';
      return QUIET_ROUTES.has(routeTemplate(req)) ? 'debug' : 'info';
    },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req, res, value: { responseTime: number }) => fields(req, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => fields(req, res, value.responseTime),
  }) as unknown as RequestHandler;
}
