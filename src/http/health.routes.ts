import { Router } from 'express';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { DependencyReport } from './dependency-health.js';
import { register, ROUTES } from './routes.js';

export interface DependencyInfo {
  breakers: Record<string, () => string>;
  /** Probes every dependency (cached): the dashboard's words (dependency-health.ts). */
  probe: () => Promise<DependencyReport>;
  simulated: boolean;
  drafter: string;
}

/** `/health` is public (load balancers, Docker HEALTHCHECK); `/health/dependencies` needs a token. */
export function healthRouter(deps: { db: Db; dependencies: DependencyInfo; authenticate: import('express').RequestHandler }) {
  const router = Router();

  register(router, ROUTES.health, async (_req, res) => {
    const database = await ping(deps.db);
    res.status(database ? 200 : 503).json({ status: database ? 'ok' : 'degraded', database: database ? 'up' : 'down' });
  });

  register(
    router,
    ROUTES.healthDependencies,
    async (_req, res) => {
    const [database, report] = await Promise.all([ping(deps.db), deps.dependencies.probe()]);
    res.json({
      ...report,
      database: database ? 'up' : 'down',
      services: Object.fromEntries(Object.entries(deps.dependencies.breakers).map(([name, state]) => [name, { breaker: state() }])),
      simulated_services: deps.dependencies.simulated,
      drafter: deps.dependencies.drafter,
    });
    },
    { before: [deps.authenticate] },
  );

  return router;
}

async function ping(db: Db) {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
