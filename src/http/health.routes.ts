import { Router } from 'express';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { DependencyReport } from './dependency-health.js';
import type { WorkerHealth } from '../runtime/worker.js';
import { register, ROUTES } from './routes.js';

export interface DependencyInfo {
  breakers: Record<string, () => string>;
  /** Probes every dependency (cached): the dashboard's words (dependency-health.ts). */
  probe: () => Promise<DependencyReport>;
  simulated: boolean;
  drafter: string;
  /** This process's worker, when it runs one: `/health/ready` needs it running and polling. */
  worker?: (() => WorkerHealth) | null;
}

/** `/health`, `/health/live` and `/health/ready` are public (load balancers, probes); `/health/dependencies` needs a token. */
export function healthRouter(deps: { db: Db; dependencies: DependencyInfo; authenticate: import('express').RequestHandler }) {
  const router = Router();

  register(router, ROUTES.health, async (_req, res) => {
    const database = await ping(deps.db);
    res.status(database ? 200 : 503).json({ status: database ? 'ok' : 'degraded', database: database ? 'up' : 'down' });
  });

  // The process answers: all a liveness probe asks (restarting a process whose database is away helps nothing).
  register(router, ROUTES.healthLive, (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Worth sending work to: the database answers and, where this process runs a worker, the worker runs and polls.
  register(router, ROUTES.healthReady, async (_req, res) => {
    const database = await ping(deps.db);
    const worker = deps.dependencies.worker?.() ?? null;
    const ready = database && (worker === null || worker.ready);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', database: database ? 'up' : 'down', worker: worker?.state ?? 'none' });
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
