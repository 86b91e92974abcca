import { Router } from 'express';
import { latestComplianceDecision } from '../db/compliance-decisions.repository.js';
import { findContactPreference } from '../db/contact-preferences.repository.js';
import type { ConversationRow } from '../db/conversations.repository.js';
import type { Db } from '../db/database.js';
import { isOptedOut } from '../db/opt-outs.repository.js';
import { assertConversationInScope, assertTenantInScope } from '../db/tenant-scope.js';
import { listTransitions } from '../db/transitions.repository.js';
import { capsUsed } from '../adapters/send-gate.js';
import { badRequest, forbidden } from '../errors.js';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { studioDefinition } from '../../machines/conversation/conversation.definition.js';
import { toGraph, toMermaid } from '../../machines/conversation/conversation.diagram.js';
import { allowedEvents, fromStored, machineVersion, topLevelState, upgradeContext } from '../runtime/machine-snapshot.js';
import { applyCommand } from '../use-cases/apply-command.js';
import type { UseCaseDeps } from '../use-cases/caller.js';
import { loadConversation } from '../use-cases/conversations.js';
import { decideApproval, isReviewEvent } from '../use-cases/decide-approval.js';
import { receiveSms } from '../use-cases/receive-sms.js';
import { verifyIdentity } from '../use-cases/verify-identity.js';
import { planView } from './plan-view.js';
import { sendApplied, toMachineEvent } from './commands.js';
import { principalOf } from './auth.js';
import { register, ROUTES } from './routes.js';
import { EVENT_ROLES, idempotencyKey as idempotencyKeySchema } from './schemas.js';
import { parse } from './validate.js';

/** The native API: any machine event in, state and audit trail out. */
export function conversationsRouter(deps: UseCaseDeps & { machine: ConversationMachine }) {
  const router = Router();

  register(router, ROUTES.conversationEvents, async (req, res) => {
    const { id } = parse(ROUTES.conversationEvents.request.params, req.params);
    const body = parse(ROUTES.conversationEvents.request.body, req.body);
    const principal = principalOf(req);
    if (!EVENT_ROLES[body.type].includes(principal.role)) {
      throw forbidden('forbidden_role', `${body.type} needs the role ${EVENT_ROLES[body.type].join(' or ')}`);
    }
    // The tenant the caller names (403), then the conversation's own (404 outside the scope), before anything is read for it.
    if (body.type === 'sms.received' && body.tenant_id) assertTenantInScope(principal.scope, body.tenant_id);
    await assertConversationInScope(deps.db, principal.scope, id);
    const key = req.header('idempotency-key') ?? (body.type === 'sms.received' ? body.message_id : undefined);
    if (!key) throw badRequest('an Idempotency-Key header is required', [{ path: 'Idempotency-Key', message: 'required' }]);
    const idempotencyKey = parse(idempotencyKeySchema, key);

    if (body.type === 'sms.received') {
      const sender = body.tenant_id && body.phone_number ? { tenantId: body.tenant_id, phone: body.phone_number } : undefined;
      return sendApplied(res, await receiveSms(deps, principal, { conversationId: id, text: body.text, messageId: body.message_id ?? idempotencyKey, idempotencyKey, sender }));
    }
    if (body.type === 'identity.verified' || body.type === 'identity.rejected') {
      return sendApplied(res, await verifyIdentity(deps, principal, { conversationId: id, verified: body.type === 'identity.verified', idempotencyKey }));
    }
    const event = toMachineEvent(body, principal);
    if (isReviewEvent(event)) return sendApplied(res, await decideApproval(deps, principal, event, idempotencyKey, id));
    sendApplied(res, await applyCommand(deps, principal, { conversationId: id, event, idempotencyKey }));
  });

  register(router, ROUTES.conversation, async (req, res) => {
    const row = await loadConversation(deps.db, parse(ROUTES.conversation.request.params, req.params).id, principalOf(req).scope);
    res.json({ ...describeConversation(deps.machine, row), compliance: await complianceState(deps.db, row, deps.clock()) });
  });

  register(router, ROUTES.transitions, async (req, res) => {
    const { id } = parse(ROUTES.transitions.request.params, req.params);
    await loadConversation(deps.db, id, principalOf(req).scope);
    res.json({ conversation_id: id, transitions: await listTransitions(deps.db, id) });
  });

  return router;
}

/** State, a summary of the context without personal data, and the events a caller may send now. */
export function describeConversation(machine: ConversationMachine, row: ConversationRow) {
  const stored = row.snapshot;
  const context = upgradeContext(stored.context);
  return {
    conversation_id: row.id,
    tenant_id: row.tenant_id,
    /** The full state path (`negotiating.awaitingConfirmation`); `top_state` is its first segment. */
    state: row.state,
    top_state: topLevelState(row.state),
    status: stored.status,
    version: row.version,
    machine_version: row.machine_version,
    updated_at: row.updated_at,
    context: {
      unanswered_messages: context.unanswered.count,
      draft: context.draft && {
        id: context.draft.id,
        drafter: context.draft.drafter,
        model: context.draft.model,
        confidence: context.draft.confidence,
        intents: context.draft.intents,
        review_reason: context.draft.reviewReason,
      },
      approval_id: context.approvalId,
      sla_lapses: context.slaLapses,
      sent_count: context.sentCount,
      last_sms_id: context.lastSent?.smsId ?? null,
      paid_cents: context.paidCents,
      escalation: context.escalation,
      closure: context.closure ?? null,
      failure: context.failure,
    },
    /** The plan our last text offered, waiting for the debtor's yes. */
    offered_plan: context.offeredPlan ? planView(context.offeredPlan) : null,
    /** The agreed plan, with each instalment's status (also in GET /v1/plans). */
    plan: context.plan ? planView(context.plan) : null,
    pending_timers: Object.keys((row.live_effects as { timers: Record<string, string> }).timers),
    allowed_events: allowedEvents(fromStored(machine, stored)),
  };
}

/** What the send-time gate knows of this conversation: an opt-out on its number, a held-back text, the last decision. */
async function complianceState(db: Db, row: ConversationRow, now: number) {
  const [optedOut, preference, caps, last] = await Promise.all([
    isOptedOut(db, row.tenant_id, row.phone),
    findContactPreference(db, row.tenant_id, row.phone),
    capsUsed(db, row.tenant_id, row.phone, now),
    latestComplianceDecision(db, row.id),
  ]);
  return {
    opted_out: optedOut,
    /** A manager confirmed the number (a number on the tenant's record needs no confirmation; see identity). */
    identity_verified: row.snapshot.context.identityVerified ?? false,
    caps_used: caps,
    send_deferred_until: row.snapshot.context.outgoing?.deferredUntil ?? null,
    contact_preference: preference && {
      earliest_hour: preference.earliestHour,
      latest_hour: preference.latestHour,
      not_at_work: preference.notAtWork,
    },
    last_decision: last ?? null,
  };
}

/** The machine definition, for tools and people: states, events, its version and a Mermaid diagram. */
export function machineRouter(machine: ConversationMachine) {
  const router = Router();
  const body = {
    id: machine.id,
    version: machineVersion(machine),
    initial: machine.root.initial?.target?.[0]?.key ?? null,
    states: Object.entries(machine.root.states).map(([name, node]) => ({ name, final: node.type === 'final' })),
    events: [...new Set(machine.root.events)].sort(),
    mermaid: toMermaid(machine),
    /** States (full paths) and edges as data: what the console draws. */
    graph: toGraph(machine),
    // A JSON definition createMachine (and Stately Studio) reads back: machines/conversation/conversation.definition.ts.
    definition: studioDefinition(machine),
  };
  register(router, ROUTES.machine, (_req, res) => {
    res.json(body);
  });
  return router;
}
