import { Router } from 'express';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { dashboardCounts } from '../db/dashboard.repository.js';
import { findOpenEscalation } from '../db/escalations.repository.js';
import { assertConversationInScope, assertTenantInScope } from '../db/tenant-scope.js';
import { AppError, forbidden } from '../errors.js';
import { topLevelState } from '../runtime/machine-snapshot.js';
import { applyCommand } from '../use-cases/apply-command.js';
import { assessDetectedPlan, type PlanAssessmentDeps } from '../use-cases/assess-plan.js';
import type { UseCaseDeps } from '../use-cases/caller.js';
import { loadConversation } from '../use-cases/conversations.js';
import { approvalOfConversation, decideApproval, type ReviewEvent } from '../use-cases/decide-approval.js';
import { receiveSms } from '../use-cases/receive-sms.js';
import { principalOf } from './auth.js';
import { newIdempotencyKey, sendApplied } from './commands.js';
import { derivedConversationId } from './conversation-identity.js';
import { describeConversation } from './conversations.routes.js';
import { planView } from './plan-view.js';
import { register, ROUTES } from './routes.js';
import { idempotencyKey } from './schemas.js';
import { parse } from './validate.js';

/**
 * The calls the services around us already make (docs/architecture.md §6), mapped onto machine events.
 * The workflow id of the old API is the conversation id.
 */
export function orchestrateRouter(deps: UseCaseDeps & { machine: ConversationMachine; plans: PlanAssessmentDeps; conversationIdSecret: string }) {
  const router = Router();
  // The caller's key when there is one; otherwise a fresh one (no dedupe: such a caller cannot retry safely).
  const keyOf = (header: string | undefined, fallback?: string) => {
    const offered = header ?? fallback;
    return offered === undefined ? newIdempotencyKey() : parse(idempotencyKey, offered);
  };

  register(router, ROUTES.smsReceived, async (req, res) => {
    const body = parse(ROUTES.smsReceived.request.body, req.body); // phone_number is E.164 from here on
    const principal = principalOf(req);
    assertTenantInScope(principal.scope, body.tenant_id);
    if (body.conversation_id !== undefined) await assertConversationInScope(deps.db, principal.scope, body.conversation_id);
    const key = keyOf(req.header('idempotency-key'), body.message_id);
    // A caller's id is used as it is (ids stored under any earlier scheme keep working), but only for its own
    // tenant and number (receiveSms). Without one, the text is for the tenant's default conversation of the
    // number, whatever its id; the derived id is only the one a new conversation gets.
    const named = body.conversation_id;
    const result = await receiveSms(deps, principal, {
      conversationId: named ?? derivedConversationId(deps.conversationIdSecret, body.tenant_id, body.phone_number),
      defaultConversation: named === undefined,
      text: body.content,
      messageId: body.message_id ?? key,
      idempotencyKey: key,
      sender: { tenantId: body.tenant_id, phone: body.phone_number },
    });
    sendApplied(res, result, { workflow_id: result.conversationId });
  });

  register(router, ROUTES.approveResponse, async (req, res) => {
    const body = parse(ROUTES.approveResponse.request.body, req.body);
    const principal = principalOf(req);
    if (body.manager_id !== undefined && body.manager_id !== principal.subject) {
      throw forbidden('manager_mismatch', 'manager_id must be the manager of the token');
    }
    const approvalId = body.response_queue_id ?? (await approvalOfConversation(deps.db, body.conversation_id!, body.phone_number!, principal.scope));
    const managerId = principal.subject;
    const events: Record<typeof body.action, () => ReviewEvent> = {
      approve: () => ({ type: 'review.approved', approvalId, managerId, ...(body.approved_text ? { text: body.approved_text } : {}) }),
      modify: () => ({ type: 'review.modified', approvalId, managerId, text: body.modified_text! }),
      escalate: () => ({ type: 'review.escalated', approvalId, managerId, reason: body.escalation_reason }),
      // The draft is discarded and a person owns the conversation.
      reject: () => ({ type: 'review.rejected', approvalId, managerId, reason: body.escalation_reason }),
    };
    const event = events[body.action]();
    const result = await decideApproval(deps, principal, event, keyOf(req.header('idempotency-key')));
    sendApplied(res, result, { response_queue_id: approvalId, action: body.action, status: 'processed' });
  });

  register(router, ROUTES.escalate, async (req, res) => {
    const body = parse(ROUTES.escalate.request.body, req.body);
    const principal = principalOf(req);
    await assertConversationInScope(deps.db, principal.scope, body.conversationId);
    const result = await applyCommand(deps, principal, {
      conversationId: body.conversationId,
      event: { type: 'staff.escalate', by: principal.subject, reason: body.reason, escalationType: body.escalationType, severity: body.severity },
      idempotencyKey: keyOf(req.header('idempotency-key')),
    });
    const escalation = await findOpenEscalation(deps.db, result.conversationId);
    sendApplied(res, result, {
      escalation_id: escalation?.id ?? null,
      escalation_type: escalation?.reason ?? body.escalationType,
      severity: escalation?.severity ?? body.severity ?? null,
      status: 'created',
    });
  });

  // Judged by our own policy (assessDetectedPlan); an unrealistic plan escalates at once.
  register(router, ROUTES.paymentPlanDetected, async (req, res) => {
    const body = parse(ROUTES.paymentPlanDetected.request.body, req.body);
    const { conversation, assessment, escalation } = await assessDetectedPlan(deps, principalOf(req), {
      conversationId: body.conversation_id,
      tenantId: body.tenant_id,
      messageContent: body.message_content,
      aiResponse: body.ai_response,
      idempotencyKey: () => keyOf(req.header('idempotency-key')),
    });
    if (!assessment.detected) {
      res.json({ conversation_id: conversation.id, detected: false, plan: null, verdict: null, reasons: [], counter_proposal: null, escalated: false });
      return;
    }
    const evaluation = assessment.evaluation;
    res.json({
      conversation_id: conversation.id,
      detected: true,
      source: assessment.source,
      plan: assessment.plan && planView(assessment.plan),
      verdict: evaluation?.verdict ?? 'incomplete',
      reasons: evaluation?.reasons ?? ['incomplete_terms'],
      counter_proposal: evaluation?.counterProposal ? planView(evaluation.counterProposal) : null,
      flags: assessment.flags,
      escalated: escalation?.outcome === 'applied',
      state: escalation?.state ?? conversation.state,
    });
  });

  register(router, ROUTES.retry, async (req, res) => {
    const principal = principalOf(req);
    const workflowId = parse(ROUTES.retry.request.params, req.params).workflowId;
    await assertConversationInScope(deps.db, principal.scope, workflowId);
    let result: Awaited<ReturnType<typeof applyCommand>>;
    try {
      result = await applyCommand(deps, principal, {
        conversationId: workflowId,
        event: { type: 'retry', by: principal.subject },
        idempotencyKey: keyOf(req.header('idempotency-key')),
      });
    } catch (error) {
      // The dashboard reads `status` on a refusal too; the error handler still writes the answer.
      if (error instanceof AppError && error.status < 500) error.responseFields = { workflow_id: workflowId, status: 'failed', message: error.message };
      throw error;
    }
    sendApplied(res, result, { workflow_id: workflowId, status: 'retrying', message: `conversation ${workflowId} is ${result.state} again` });
  });

  register(router, ROUTES.workflowStatus, async (req, res) => {
    const row = await loadConversation(deps.db, parse(ROUTES.workflowStatus.request.params, req.params).conversationId, principalOf(req).scope);
    const { status: machineStatus, ...description } = describeConversation(deps.machine, row);
    res.json({ workflow_id: row.id, ...description, machine_status: machineStatus, ...dashboardStatus(row, description) });
  });

  // Counts of the token's tenants only: one client's volumes are not another's business.
  register(router, ROUTES.orchestrateMetrics, async (req, res) => {
    res.json(await dashboardCounts(deps.db, principalOf(req).scope));
  });

  return router;
}

/**
 * The collections dashboard's status words for a state (docs/api.md): `processing` while we (or a manager)
 * work on the next text, `pending` while we wait on someone outside the automation (the debtor, a person
 * who owns an escalated case, a plan's payments), `completed` and `failed` when it is over or stuck.
 */
export const DASHBOARD_STATUS: Record<string, 'pending' | 'processing' | 'completed' | 'failed'> = {
  idle: 'processing',
  drafting: 'processing',
  pendingApproval: 'processing',
  sending: 'processing',
  sent: 'processing',
  awaitingReply: 'pending',
  negotiating: 'pending',
  planAgreed: 'pending',
  escalated: 'pending',
  failed: 'failed',
  optedOut: 'completed',
  closed: 'completed',
};

function dashboardStatus(row: { state: string; updated_at: Date }, description: Pick<ReturnType<typeof describeConversation>, 'context'>) {
  const top = topLevelState(row.state);
  return {
    workflow_type: 'sms_conversation',
    status: DASHBOARD_STATUS[top] ?? 'processing',
    current_step: row.state,
    ai_confidence: description.context.draft?.confidence ?? null,
    escalation_triggered: top === 'escalated' || description.context.escalation !== null,
    last_updated: row.updated_at,
  };
}
