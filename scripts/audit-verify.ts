import { runCommand, withCommandDatabase } from '../src/command.js';
import { verifyChains } from '../src/runtime/audit-verify.js';

/**
 * `npm run audit:verify [conversation…]`: recomputes the audit hash chains of every conversation (or the
 * ones named) on DATABASE_URL or the embedded database (the running service's, or one started for this),
 * names the first broken row of each, and exits 1 when any chain is broken (docs/audit.md). Prints ids,
 * seqs and hashes only: no texts, no numbers.
 */
const ids = process.argv.slice(2).filter((arg) => arg !== '--');
await runCommand('audit:verify', (config) =>
  withCommandDatabase(config, 'audit-verify', async (db) => {
    const report = await verifyChains(db, ids);
    for (const problem of report.breaks) console.log(`BROKEN ${problem.conversationId} seq ${problem.seq}: ${problem.problem}`);
    console.log(`${report.conversations} conversation(s), ${report.rows} transition row(s) checked, ${report.breaks.length} broken`);
    return report.breaks.length > 0 ? 1 : 0;
  }),
);
