import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../logger.js';

/** Health probes and Prometheus scrapes come every few seconds: logged at debug, not info. */
const QUIET_ROUTES = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/** The route as declared (`/v1/conversations/:id`), never the URL: ids in paths may be conversation ids, queries may hold anything. */
export function routeTemplate(req: IncomingMessage): string {
  const { route, baseUrl } = req as Request;
  return route ? `${baseUrl ?? ''}${String(route.path)}` : 'unmatched';
}

/**
 * One line per request, written by the logger when the response is done (or the connection closed first):
 * method, route template, status, duration in ms, and the request id (X-Request-Id, as on every other line of
 * the request). No URL, query, header or body, so nothing personal. Errors themselves are logged by the error
 * handler. The line pino-http wrote, without what it also did on every request at any level (two child
 * loggers and their redaction): about a twentieth of an event's CPU, profiled.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = Date.now();
    const done = (error?: unknown) => {
      res.removeListener('close', done);
      res.removeListener('finish', done);
      res.removeListener('error', done);
      const failed = error !== undefined || res.statusCode >= 500;
      const level = failed ? 'error' : QUIET_ROUTES.has(routeTemplate(req)) ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      // The request id goes in the line itself: the logger's mixin (src/logger.ts) writes it only while the request's context is current.
      const line = { requestId: res.locals.requestId as string, method: req.method, route: routeTemplate(req), status: res.statusCode, ms: Date.now() - startedAt };
      logger[level](line, failed ? 'request failed' : 'request completed');
    };
    res.on('close', done);
    res.on('finish', done);
    res.on('error', done);
    next();
  };
}
