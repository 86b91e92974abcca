import { Router } from 'express';
import type { Db } from '../db/database.js';
import { listOpenEscalations } from '../db/escalations.repository.js';
import { listPlans } from '../db/payment-plans.repository.js';
import { register, ROUTES } from './routes.js';
import { parse } from './validate.js';

/** What managers follow up on: agreed plans with their instalments, and the cases people own. */
export function plansRouter(deps: { db: Db }) {
  const router = Router();

  register(router, ROUTES.plans, async (req, res) => {
    const query = parse(ROUTES.plans.request.query, req.query);
    const plans = await listPlans(deps.db, { status: query.status, conversationId: query.conversation_id, limit: query.limit });
    res.json({ items: plans });
  });

  register(router, ROUTES.escalations, async (req, res) => {
    const query = parse(ROUTES.escalations.request.query, req.query);
    const rows = await listOpenEscalations(deps.db, { reason: query.reason, limit: query.limit });
    res.json({
      items: rows.map((row) => ({
        escalation_id: row.id,
        conversation_id: row.conversation_id,
        tenant_id: row.tenant_id,
        escalation_type: row.reason,
        note: row.note,
        severity: row.severity,
        opened_at: row.opened_at,
      })),
    });
  });

  return router;
}
