import { Router } from 'express';
import type { Db } from '../db/database.js';
import { listOpenEscalations } from '../db/escalations.repository.js';
import { addSuppression, listSuppressions } from '../db/opt-outs.repository.js';
import { listPlans } from '../db/payment-plans.repository.js';
import { assertTenantInScope } from '../db/tenant-scope.js';
import { principalOf } from './auth.js';
import { register, ROUTES } from './routes.js';
import { parse } from './validate.js';

/** What managers follow up on: agreed plans with their instalments, the cases people own, suppressed numbers. */
export function plansRouter(deps: { db: Db }) {
  const router = Router();

  register(router, ROUTES.plans, async (req, res) => {
    const query = parse(ROUTES.plans.request.query, req.query);
    const plans = await listPlans(deps.db, { status: query.status, conversationId: query.conversation_id, limit: query.limit, scope: principalOf(req).scope });
    res.json({ items: plans });
  });

  register(router, ROUTES.escalations, async (req, res) => {
    const query = parse(ROUTES.escalations.request.query, req.query);
    const rows = await listOpenEscalations(deps.db, { reason: query.reason, limit: query.limit, scope: principalOf(req).scope });
    res.json({
      items: rows.map((row) => ({
        escalation_id: row.id,
        conversation_id: row.conversation_id,
        tenant_id: row.tenant_id,
        escalation_type: row.reason,
        note: row.note,
        severity: row.severity,
        opened_at: row.opened_at,
        // Only on an `identity_verification` task: the name the number gave and the names on record.
        identity_claim: row.identity_claim ?? null,
      })),
    });
  });

  // Phone numbers are personal data: managers only.
  register(router, ROUTES.suppressions, async (req, res) => {
    const query = parse(ROUTES.suppressions.request.query, req.query);
    const rows = await listSuppressions(deps.db, query.limit, principalOf(req).scope);
    res.json({
      items: rows.map((row) => ({
        phone_number: row.phone,
        tenant_id: row.tenant_id,
        source: row.source,
        conversation_id: row.conversation_id,
        added_by: row.added_by,
        reason: row.reason,
        since: row.since,
      })),
    });
  });

  // Any manager may suppress a number for the tenants it acts for: the one it names, else all of its scope (an
  // all-tenant token: every tenant). `created` says only whether that scope had it already, so the answer
  // reveals nothing about other tenants (docs/compliance.md, "Whose opt-out").
  register(router, ROUTES.addSuppression, async (req, res) => {
    const body = parse(ROUTES.addSuppression.request.body, req.body);
    const { scope, subject } = principalOf(req);
    if (body.tenant_id !== undefined) assertTenantInScope(scope, body.tenant_id);
    const tenants = body.tenant_id !== undefined ? [body.tenant_id] : scope.all ? null : scope.tenants;
    const created = await addSuppression(deps.db, { phone: body.phone_number, tenants, addedBy: subject, reason: body.reason ?? null });
    res.status(created ? 201 : 200).json({ phone_number: body.phone_number, suppressed: true, created });
  });

  return router;
}
