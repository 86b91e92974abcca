import { Router } from 'express';
import type { Db } from '../db/database.js';
import { isOptedOut } from '../db/opt-outs.repository.js';
import { findContactPreference } from '../db/contact-preferences.repository.js';
import { assertConversationInScope, assertTenantInScope, withinScope, type TenantScope } from '../db/tenant-scope.js';
import { capsUsed } from '../effects/send-gate.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { ConversationMachine } from '../../machines/conversation/conversation.machine.js';
import { studioDefinition } from '../../machines/conversation/conversation.definition.js';
import { toGraph, toMermaid } from '../../machines/conversation/conversation.diagram.js';
import { allowedEvents, fromStored, machineVersion, topLevelState, upgradeContext } from '../runtime/machine-snapshot.js';
import { withinScopeOnMismatch } from './conversation-identity.js';
import { honourConsentKeywords } from './opt-in.js';
import { planView } from './plan-view.js';
import { actorOf, decideApproval, isReviewEvent, sendApplied, toMachineEvent, type CommandDeps } from './commands.js';
import { principalOf } from './auth.js';
import { register, ROUTES } from './routes.js';
import { EVENT_ROLES, idempotencyKey } from './schemas.js';
import { parse } from './validate.js';

/** The native API: any machine event in, state and audit trail out. */
export function conversationsRouter(deps: CommandDeps & { machine: ConversationMachine }) {
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
    const idempotency = parse(idempotencyKey, key);

    const event = toMachineEvent(body, principal, idempotency, deps.clock());
    if (isReviewEvent(event)) return sendApplied(res, await decideApproval(deps, principal, event, idempotency, id));
    const create =
      body.type === 'sms.received' && body.tenant_id && body.phone_number
        ? { conversationId: id, tenantId: body.tenant_id, phone: body.phone_number }
        : undefined;
    // A tenant and number that are not the conversation's: apply() refuses them (409 conversation_mismatch) inside the write.
    const result = await withinScopeOnMismatch(deps.db, principal.scope, id, () =>
      deps.runtime.apply({
        conversationId: id,
        event,
        idempotencyKey: idempotency,
        actor: actorOf(principal),
        create,
        ifNotAccepted: body.type === 'sms.received' ? 'record' : 'reject',
      }),
    );
    if (body.type === 'sms.received' && !result.duplicate) {
      const phone = create?.phone ?? (async () => (await loadConversation(deps.db, id, principal.scope)).phone);
      await honourConsentKeywords(deps.db, { conversationId: id, phone, text: body.text });
    }
    sendApplied(res, result);
  });

  register(router, ROUTES.conversation, async (req, res) => {
    const row = await loadConversation(deps.db, parse(ROUTES.conversation.request.params, req.params).id, principalOf(req).scope);
    res.json({ ...describeConversation(deps.machine, row), compliance: await complianceState(deps.db, row, deps.clock()) });
  });

  register(router, ROUTES.transitions, async (req, res) => {
    const { id } = parse(ROUTES.transitions.request.params, req.params);
    await loadConversation(deps.db, id, principalOf(req).scope);
    const rows = await deps.db
      .selectFrom('transitions')
      .select(['seq', 'from_state', 'to_state', 'event_type', 'event_id', 'actor', 'at', 'prev_hash', 'hash'])
      .where('conversation_id', '=', id)
      .orderBy('seq')
      .execute();
    res.json({ conversation_id: id, transitions: rows });
  });

  return router;
}

/** The conversation, if it exists and is in the scope; else 404 (the same answer for both). */
export async function loadConversation(db: Db, id: string, scope: TenantScope) {
  const row = await withinScope(db.selectFrom('conversations').selectAll().where('id', '=', id), scope, 'conversations.id').executeTakeFirst();
  if (!row) throw notFound(`conversation ${id}`);
  return row;
}

type ConversationRow = Awaited<ReturnType<typeof loadConversation>>;

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
    findContactPreference(db, row.phone),
    capsUsed(db, row.tenant_id, row.phone, now),
    db
      .selectFrom('compliance_decisions')
      .select(['rule', 'decision', 'detail', 'at'])
      .where('conversation_id', '=', row.id)
      .orderBy('id', 'desc')
      .executeTakeFirst(),
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
