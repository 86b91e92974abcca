import { Router } from 'express';
import type { Db } from '../db/database.js';
import { countConversationsByState, listConversations, recordPhoneReveal, type ConversationFilter, type ConversationFlag } from '../db/conversations.repository.js';
import { conversationTimeline } from '../db/timeline.repository.js';
import { maskPhone, type Logger } from '../logger.js';
import { segmentBudget } from '../policies/compliance.js';
import { smsSegments } from '../policies/sms-segments.js';
import { topLevelState } from '../runtime/machine-snapshot.js';
import { actorOf, type UseCaseDeps } from '../use-cases/caller.js';
import { loadConversation } from '../use-cases/conversations.js';
import { draftLanguage, judgeManagerText } from '../use-cases/decide-approval.js';
import { principalOf } from './auth.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { register, ROUTES } from './routes.js';
import { parse } from './validate.js';

/**
 * What managers work with beyond one conversation's state (docs/api.md, docs/console.md): the list of
 * conversations, a conversation's timeline, the compliance verdict on a text being written, and a number
 * unmasked on request (recorded). Public API, the console's only way in.
 */
export function consoleApiRouter(deps: Pick<UseCaseDeps, 'db' | 'compliance'> & { db: Db; logger: Logger }) {
  const router = Router();

  register(router, ROUTES.conversations, async (req, res) => {
    const query = parse(ROUTES.conversations.request.query, req.query);
    const flags = (['escalated', 'awaiting_approval', 'in_plan'] as const).filter((flag): flag is ConversationFlag => query[flag] === true);
    const filter: ConversationFilter = {
      state: query.state,
      tenantId: query.tenant_id,
      tenantMatch: query.q,
      updatedSince: query.updated_since,
      flags,
      scope: principalOf(req).scope,
    };
    const after = query.cursor ? decodeCursor(query.cursor, ['updated_at', 'id'], ['updated_at']) : undefined;
    const [page, counts] = await Promise.all([
      listConversations(deps.db, filter, { limit: query.limit, after: after && { updatedAt: after.updated_at, id: after.id } }),
      query.counts ? countConversationsByState(deps.db, filter) : undefined,
    ]);
    res.json({
      items: page.items.map((row) => ({
        conversation_id: row.id,
        tenant_id: row.tenant_id,
        phone_masked: maskPhone(row.phone),
        state: row.state,
        top_state: topLevelState(row.state),
        version: row.version,
        draft_confidence: row.draft_confidence,
        escalation_reason: row.escalation_reason,
        created_at: row.created_at,
        updated_at: row.updated_at,
      })),
      next_cursor: page.next ? encodeCursor({ updated_at: page.next.updatedAt, id: page.next.id }) : null,
      ...(counts ? { counts } : {}),
    });
  });

  register(router, ROUTES.timeline, async (req, res) => {
    const { id } = parse(ROUTES.timeline.request.params, req.params);
    await loadConversation(deps.db, id, principalOf(req).scope);
    res.json({ conversation_id: id, entries: await conversationTimeline(deps.db, id) });
  });

  register(router, ROUTES.complianceCheck, async (req, res) => {
    const { id } = parse(ROUTES.complianceCheck.request.params, req.params);
    const { text } = parse(ROUTES.complianceCheck.request.body, req.body);
    // The conversation read for the scope check also gives the debtor's language: one read, not two.
    const row = await loadConversation(deps.db, id, principalOf(req).scope);
    const language = draftLanguage(row.snapshot);
    const violations = judgeManagerText(deps.compliance, language, text);
    const sms = smsSegments(text.trim());
    res.json({
      allowed: violations.length === 0,
      /** The first rule that refused the text; all of them are in `violations`. */
      rule: violations[0]?.code ?? null,
      violations,
      segments: sms.segments,
      encoding: sms.encoding,
      max_segments: segmentBudget(deps.compliance),
      language,
    });
  });

  register(router, ROUTES.revealPhone, async (req, res) => {
    const { id } = parse(ROUTES.revealPhone.request.params, req.params);
    const principal = principalOf(req);
    const row = await loadConversation(deps.db, id, principal.scope);
    const actor = actorOf(principal);
    const { at } = await recordPhoneReveal(deps.db, id, actor);
    deps.logger.info({ conversationId: id, actor }, 'phone number revealed');
    res.json({ conversation_id: id, phone_number: row.phone, revealed_by: actor, revealed_at: at });
  });

  return router;
}
