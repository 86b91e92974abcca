import { configuredMachine } from '../src/composition.js';
import { loadConfig } from '../src/config.js';
import { createDb, createPool } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createConversationInspector } from '../src/inspect/conversation-inspector.js';

/**
 * `npm run inspect -- <conversation-id>`: replays a stored conversation's transitions from the audit trail
 * into the Stately inspector (docs/audit.md §4). Starts a local inspector server on INSPECT_PORT (open
 * http://localhost:<port> in a browser), or sends to INSPECT_URL; stays up until Ctrl-C so a browser can
 * connect (the server keeps the last 200 records for it). Events are the audit summaries; the context,
 * sanitised unless INSPECT_PII=1, is the conversation's current one, shown with the last transition.
 */
const [conversationId] = process.argv.slice(2).filter((arg) => arg !== '--');
if (!conversationId) {
  console.error('usage: npm run inspect -- <conversation-id>');
  process.exit(2);
}
const config = loadConfig();
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
const pool = createPool(config.databaseUrl ?? embedded!.url, { max: 2, applicationName: 'orchestrator-inspect', caCert: config.databaseCaCert });
const db = createDb(pool);
const stop = async () => {
  await db.destroy();
  await embedded?.stop();
};
const conversation = await db.selectFrom('conversations').select(['snapshot']).where('id', '=', conversationId).executeTakeFirst();
if (!conversation) {
  console.error(`no conversation ${conversationId}`);
  await stop();
  process.exit(1);
}
const rows = await db
  .selectFrom('transitions')
  .select(['seq', 'from_state', 'to_state', 'event_type', 'event_summary'])
  .where('conversation_id', '=', conversationId)
  .orderBy('seq')
  .execute();
await stop();

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
console.log(`${rows.length} transition(s) of ${conversationId} sent to ${inspector.url}`);
if (!config.inspect.url) console.log(`open http://localhost:${config.inspect.port} (Ctrl-C to stop)`);
process.on('SIGINT', () => void inspector.close().then(() => process.exit(0)));
