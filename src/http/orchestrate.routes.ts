import { Router } from 'express';
import { sql } from 'kysely';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { pendingApprovals } from '../db/drafts.repository.js';
import { findOpenEscalation } from '../db/escalations.repository.js';
import { assertConversationInScope, assertTenantInScope, withinScope, type TenantScope } from '../db/tenant-scope.js';
import { assessPlanOffer, type PlanAssessmentDeps } from '../effects/plan-assessment.js';
import { AppError, conflict, forbidden, notFound } from '../errors.js';
import type { Db } from '../db/database.js';
import { normalisePhone } from '../text/phone.js';
import { principalOf } from './auth.js';
import { actorOf, decideApproval, newIdempotencyKey, sendApplied, type CommandDeps, type ReviewEvent } from './commands.js';
import { derivedConversationId, withinScopeOnMismatch } from './conversation-identity.js';
import { describeConversation, loadConversation } from './conversations.routes.js';
import { topLevelState } from '../runtime/machine-snapshot.js';
import { honourConsentKeywords } from './opt-in.js';
import { planView } from './plan-view.js';
import { register, ROUTES } from './routes.js';
import { idempotencyKey } from './schemas.js';
import { parse } from './validate.js';

/**
 * The calls the services around us already make (docs/architecture.md §6), mapped onto machine events.
 * The workflow id of the old API is the conversation id.
 */
export function orchestrateRouter(deps: CommandDeps & { machine: ConversationMachine; plans: PlanAssessmentDeps; conversationIdSecret: string }) {
  const router = Router();
  // The caller's key when there is one; otherwise a fresh one (no dedupe: such a caller cannot retry safely).
  const keyOf = (header: string | undefined, fallback?: string) => {
    const offered = header ?? fallback;
    return offered === undefined ? newIdempotencyKey() : parse(idempotencyKey, offered);
  };

  register(router, ROUTES.smsReceived, async (req, res) => {
    const body = parse(ROUTES.smsReceived.request.body, req.body); // phone_number is E.164 from here on
    const { scope } = principalOf(req);
    assertTenantInScope(scope, body.tenant_id);
    if (body.conversation_id !== undefined) await assertConversationInScope(deps.db, scope, body.conversation_id);
    const key = keyOf(req.header('idempotency-key'), body.message_id);
    // A caller's id is used as it is (ids stored under any earlier scheme keep working), but only for its own
    // tenant and number: apply() refuses another's (409 conversation_mismatch) inside the write. Without one,
    // the text is for the tenant's default conversation of the number, which apply() finds whatever its id;
    // the derived id is only the one a new conversation gets.
    const named = body.conversation_id;
    const conversationId = named ?? derivedConversationId(deps.conversationIdSecret, body.tenant_id, body.phone_number);
    const result = await withinScopeOnMismatch(deps.db, scope, conversationId, () =>
      deps.runtime.apply({
        conversationId,
        event: { type: 'sms.received', text: body.content, messageId: body.message_id ?? key, at: new Date(deps.clock()).toISOString() },
        idempotencyKey: key,
        actor: actorOf(principalOf(req)),
        create: { conversationId, tenantId: body.tenant_id, phone: body.phone_number },
        defaultConversation: named === undefined,
        ifNotAccepted: 'record',
      }),
    );
    if (!result.duplicate) await honourConsentKeywords(deps.db, { conversationId: result.conversationId, phone: body.phone_number, text: body.content });
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
    const result = await deps.runtime.apply({
      conversationId: body.conversationId,
      event: { type: 'staff.escalate', by: principal.subject, reason: body.reason, escalationType: body.escalationType, severity: body.severity },
      idempotencyKey: keyOf(req.header('idempotency-key')),
      actor: actorOf(principal),
      ifNotAccepted: 'reject',
    });
    const escalation = await findOpenEscalation(deps.db, result.conversationId);
    sendApplied(res, result, {
      escalation_id: escalation?.id ?? null,
      escalation_type: escalation?.reason ?? body.escalationType,
      severity: escalation?.severity ?? body.severity ?? null,
      status: 'created',
    });
  });

  /**
   * Another service saw a plan: judged by our own policy, from the debtor's words. The verdict feeds the
   * conversation only where it must not wait for the next turn: a plan far from anything acceptable hands
   * the conversation to a person (`unrealistic_proposal`). Acceptable plans and counter-proposals are
   * offered by the conversation's own drafting when the debtor's message is applied.
   */
  register(router, ROUTES.paymentPlanDetected, async (req, res) => {
    const body = parse(ROUTES.paymentPlanDetected.request.body, req.body);
    const principal = principalOf(req);
    assertTenantInScope(principal.scope, body.tenant_id);
    const conversation = await loadConversation(deps.db, body.conversation_id, principal.scope);
    if (conversation.tenant_id !== body.tenant_id) {
      throw conflict('conversation_mismatch', 'the conversation belongs to another tenant');
    }
    const assessment = await assessPlanOffer(deps.plans, {
      tenantId: body.tenant_id,
      messageContent: body.message_content,
      aiResponse: body.ai_response,
    });
    if (!assessment.detected) {
      res.json({ conversation_id: conversation.id, detected: false, plan: null, verdict: null, reasons: [], counter_proposal: null, escalated: false });
      return;
    }
    const evaluation = assessment.evaluation;
    const unrealistic = evaluation?.verdict === 'invalid' && evaluation.counterProposal === null;
    const applied = unrealistic
      ? await deps.runtime.apply({
          conversationId: conversation.id,
          event: { type: 'staff.escalate', by: principal.subject, reason: 'detected plan is unrealistic', escalationType: 'unrealistic_proposal', severity: 'medium' },
          idempotencyKey: keyOf(req.header('idempotency-key')),
          actor: actorOf(principal),
          ifNotAccepted: 'record',
        })
      : null;
    res.json({
      conversation_id: conversation.id,
      detected: true,
      source: assessment.source,
      plan: assessment.plan && planView(assessment.plan),
      verdict: evaluation?.verdict ?? 'incomplete',
      reasons: evaluation?.reasons ?? ['incomplete_terms'],
      counter_proposal: evaluation?.counterProposal ? planView(evaluation.counterProposal) : null,
      flags: assessment.flags,
      escalated: applied?.outcome === 'applied',
      state: applied?.state ?? conversation.state,
    });
  });

  register(router, ROUTES.retry, async (req, res) => {
    const principal = principalOf(req);
    const workflowId = parse(ROUTES.retry.request.params, req.params).workflowId;
    await assertConversationInScope(deps.db, principal.scope, workflowId);
    let result: Awaited<ReturnType<typeof deps.runtime.apply>>;
    try {
      result = await deps.runtime.apply({
        conversationId: workflowId,
        event: { type: 'retry', by: principal.subject },
        idempotencyKey: keyOf(req.header('idempotency-key')),
        actor: actorOf(principal),
        ifNotAccepted: 'reject',
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
    const { scope } = principalOf(req);
    const [states, approvals, transitions, dashboard] = await Promise.all([
      withinScope(
        deps.db.selectFrom('conversations').select([sql<string>`split_part(state, '.', 1)`.as('state'), sql<number>`count(*)::int`.as('count')]),
        scope,
        'conversations.id',
      )
        .groupBy(sql`1`)
        .execute(),
      pendingApprovals(deps.db, scope),
      withinScope(
        deps.db
          .selectFrom('transitions')
          .select(sql<number>`count(*)::int`.as('count'))
          .where('at', '>', sql<Date>`now() - interval '24 hours'`),
        scope,
        'transitions.conversation_id',
      ).executeTakeFirstOrThrow(),
      dashboardCounts(deps.db, scope),
    ]);
    res.json({
      ...dashboard,
      conversations_by_state: Object.fromEntries(states.map((row) => [row.state, row.count])),
      pending_approvals: approvals.pending,
      oldest_pending_approval_at: approvals.oldest,
      transitions_last_24h: transitions.count,
    });
  });

  return router;
}

/**
 * The dashboard names the conversation and the debtor's number, not the queue item: the conversation's
 * pending approval is the one. The number must be the conversation's (both in E.164), else 409 and nothing
 * is decided. With nothing pending, the latest item is answered for, so that a retried decision gets its
 * first answer and a late one its `409 already_decided` (decideApproval).
 */
async function approvalOfConversation(db: Db, conversationId: string, e164: string, scope: TenantScope): Promise<string> {
  const conversation = await loadConversation(db, conversationId, scope);
  if ((normalisePhone(conversation.phone) ?? conversation.phone) !== e164) {
    throw conflict('conversation_mismatch', `conversation ${conversationId} belongs to another phone number`);
  }
  const draft = await db
    .selectFrom('drafts')
    .select('id')
    .where('conversation_id', '=', conversationId)
    .where('review_status', 'is not', null)
    .orderBy(sql`review_status = 'pending'`, 'desc')
    .orderBy('queued_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!draft) throw notFound(`an approval for conversation ${conversationId}`);
  return draft.id;
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

/**
 * The dashboard's counts, from the database, so every replica answers the same. "Today" is the UTC day.
 * - `sms_received`: inbound texts stored in the last hour; `ai_responses`: drafts made in the last hour.
 * - `auto_approval_rate`: of the drafts that left `drafting` for a send or the approval queue in the last
 *   hour, the share sent without a manager (0 when there were none).
 * - `avg_response_time`: seconds from a debtor's latest text to our accepted reply, over replies accepted
 *   in the last hour (0 when there were none).
 * - `total_messages`: inbound texts plus accepted outbound ones today; `escalations`: opened today;
 *   `payment_plans`: agreed today.
 */
async function dashboardCounts(db: Db, scope: TenantScope) {
  const hourAgo = sql<Date>`now() - interval '1 hour'`;
  const today = sql<Date>`date_trunc('day', now() at time zone 'utc') at time zone 'utc'`;
  const count = sql<number>`count(*)::int`;
  const inboundSince = (since: typeof hourAgo) =>
    withinScope(db.selectFrom('messages').select(count.as('n')).where('direction', '=', 'inbound').where('at', '>=', since), scope, 'messages.conversation_id').executeTakeFirstOrThrow();
  const [received, drafts, routed, response, inboundToday, outboundToday, escalations, plans] = await Promise.all([
    inboundSince(hourAgo),
    withinScope(db.selectFrom('drafts').select(count.as('n')).where('created_at', '>', hourAgo), scope, 'drafts.conversation_id').executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('transitions'), scope, 'transitions.conversation_id')
      .select([
        sql<number>`count(*) filter (where split_part(to_state, '.', 1) = 'sending')::int`.as('auto'),
        sql<number>`count(*)::int`.as('all'),
      ])
      .where('at', '>', hourAgo)
      .where(sql<string>`split_part(from_state, '.', 1)`, '=', 'drafting')
      .where(sql<string>`split_part(to_state, '.', 1)`, 'in', ['sending', 'pendingApproval'])
      .executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('outbound_messages as o'), scope, 'o.conversation_id')
      .select(
        sql<number | null>`avg(extract(epoch from o.updated_at - (
          select max(m.at) from messages m where m.conversation_id = o.conversation_id and m.direction = 'inbound' and m.at <= o.first_attempt_at
        )))::float8`.as('seconds'),
      )
      .where('o.status', '=', 'accepted')
      .where('o.updated_at', '>', hourAgo)
      .executeTakeFirstOrThrow(),
    inboundSince(today),
    withinScope(
      db.selectFrom('outbound_messages').select(count.as('n')).where('status', '=', 'accepted').where('updated_at', '>=', today),
      scope,
      'outbound_messages.conversation_id',
    ).executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('escalations').select(count.as('n')).where('opened_at', '>=', today), scope, 'escalations.conversation_id').executeTakeFirstOrThrow(),
    withinScope(db.selectFrom('payment_plans').select(count.as('n')).where('agreed_at', '>=', today), scope, 'payment_plans.conversation_id').executeTakeFirstOrThrow(),
  ]);
  return {
    last_hour: {
      sms_received: received.n,
      ai_responses: drafts.n,
      auto_approval_rate: routed.all === 0 ? 0 : Math.round((routed.auto / routed.all) * 10_000) / 10_000,
      avg_response_time: response.seconds === null ? 0 : Math.round(response.seconds * 10) / 10,
    },
    today: { total_messages: inboundToday.n + outboundToday.n, escalations: escalations.n, payment_plans: plans.n },
  };
}
