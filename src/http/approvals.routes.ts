import { Router } from 'express';
import { listApprovals } from '../db/drafts.repository.js';
import type { Db } from '../db/database.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { ConversationContext, InboundMessage } from '../../machines/conversation/conversation.types.js';
import { newestInbound } from '../db/messages.repository.js';
import { upgradeContext } from '../runtime/machine-snapshot.js';
import { principalOf } from './auth.js';
import { register, ROUTES } from './routes.js';
import { parse } from './validate.js';

/** The approval queue, oldest first, in pages (an opaque cursor carries the last item seen). */
export function approvalsRouter(deps: { db: Db }) {
  const router = Router();

  // Draft texts are for managers only.
  register(router, ROUTES.approvals, async (req, res) => {
    const query = parse(ROUTES.approvals.request.query, req.query);
    const afterId = query.cursor ? decodeCursor(query.cursor, ['after']).after : undefined;
    const rows = await listApprovals(deps.db, { status: query.status, limit: query.limit, afterId, scope: principalOf(req).scope });
    const contexts = new Map(rows.map((row) => [row.conversation_id, upgradeContext(row.snapshot.context)]));
    const debtorMessages = await newestInbound(
      deps.db,
      [...contexts].map(([conversationId, context]) => ({ conversationId, count: context.unanswered.count })),
    );
    const last = rows.at(-1);
    res.json({
      items: rows.map((row) => ({
        response_queue_id: row.id,
        conversation_id: row.conversation_id,
        tenant_id: row.tenant_id,
        conversation_state: row.state,
        conversation: conversationSummary(contexts.get(row.conversation_id)!, debtorMessages.get(row.conversation_id)!),
        status: row.review_status,
        draft: {
          text: row.text,
          drafter: row.drafter,
          model: row.model,
          confidence: row.confidence,
          intents: row.intents,
          plan: row.plan,
          review_reason: row.review_reason,
        },
        queued_at: row.queued_at,
        decided_at: row.decided_at,
        reviewer: row.reviewer,
        final_text: row.final_text,
      })),
      next_cursor: rows.length === query.limit && last ? encodeCursor({ after: last.id }) : null,
    });
  });

  return router;
}

/** What a manager needs beside the draft: what the debtor said since our last text, and that last text. */
function conversationSummary(context: ConversationContext, unanswered: readonly InboundMessage[]) {
  return {
    debtor_messages: unanswered.map((message) => ({ text: message.text, at: message.at })),
    last_sent_text: context.lastSent?.text ?? null,
    sent_count: context.sentCount,
    language: context.draft?.language ?? null,
  };
}
