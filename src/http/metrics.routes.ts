import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Principal } from './auth.js';
import { tenantsScope } from '../db/tenant-scope.js';
import { createErrorHandler, notFoundHandler } from './errors.js';
import { requestIdMiddleware } from './request-context.js';
import { register, ROUTES } from './routes.js';

// No tenant: /metrics carries no tenant's data (no tenant labels), and this token must open nothing else.
const SCRAPER: Principal = { subject: 'metrics-scraper', role: 'service', scope: tenantsScope([]) };

/**
 * Who may scrape `/metrics` (docs/observability.md): with METRICS_TOKEN set, whoever sends exactly that
 * bearer token (a scraper's static credential, which opens nothing else; our JWTs are not accepted there);
 * without it, any role's token, like the rest of the API.
 */
export function metricsAuth(metricsToken: string | undefined, otherwise: RequestHandler): RequestHandler {
  if (!metricsToken) return otherwise;
  // Both sides hashed first: equal lengths for timingSafeEqual, and the comparison leaks neither length nor prefix.
  const expected = createHash('sha256').update(metricsToken).digest();
  return (req, _res, next) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    const offered = createHash('sha256').update(match?.[1] ?? '').digest();
    if (match && timingSafeEqual(offered, expected)) {
      // The scraper as a principal, for the route's role check; this handler guards /metrics and nothing else.
      req.user = SCRAPER;
      return next();
    }
    next(new AppError('unauthorized', 'the metrics token is required (Authorization: Bearer <METRICS_TOKEN>)', 401));
  };
}

/** `GET /metrics`: the registry's text exposition, behind `guard`. */
export function metricsRouter(registry: Registry, guard: RequestHandler): Router {
  const router = Router();
  register(
    router,
    ROUTES.prometheus,
    async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    },
    { before: [guard] },
  );
  return router;
}

/**
 * The app of METRICS_PORT: `/metrics` alone, for a scraper on an internal port, and for worker-only processes,
 * which serve no API. Same guard as on the API's port.
 */
export function createMetricsApp(registry: Registry, guard: RequestHandler, logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestIdMiddleware);
  app.use(metricsRouter(registry, guard));
  app.use(notFoundHandler);
  app.use(createErrorHandler(logger));
  return app;
}
