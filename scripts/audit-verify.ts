import { loadConfig } from '../src/config.js';
import { createDb, createPool } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { verifyChains } from '../src/runtime/audit-verify.js';

/**
 * `npm run audit:verify [conversation…]`: recomputes the audit hash chains of every conversation (or the
 * ones named) on DATABASE_URL or the embedded database, names the first broken row of each, and exits 1
 * when any chain is broken (docs/audit.md). Prints ids, seqs and hashes only: no texts, no numbers.
 */
const ids = process.argv.slice(2).filter((arg) => arg !== '--');
const config = loadConfig();
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
const pool = createPool(config.databaseUrl ?? embedded!.url, { max: 2, applicationName: 'orchestrator-audit-verify', caCert: config.databaseCaCert });
const db = createDb(pool);
try {
  const report = await verifyChains(db, ids);
  for (const problem of report.breaks) console.log(`BROKEN ${problem.conversationId} seq ${problem.seq}: ${problem.problem}`);
  console.log(`${report.conversations} conversation(s), ${report.rows} transition row(s) checked, ${report.breaks.length} broken`);
  process.exitCode = report.breaks.length > 0 ? 1 : 0;
} finally {
  await db.destroy();
  await embedded?.stop();
}
