/**
 * `npx tsx bench/sms-outage.bench.ts`: an SMS Agent outage under load, waited out (docs/architecture.md §3).
 * The real service in-process on its embedded PostgreSQL with the simulators and the rules drafter. Debtors
 * text in before and throughout an outage of the SMS Agent (`/_control/faults` mode `down`: every request,
 * history reads included, answers 503); then the agent recovers. Nobody acts as a manager. Reported: every
 * debtor's reply delivered exactly once, none failed, and how long after recovery the last one left.
 *
 * BENCH_OUTAGE_MS (180000), BENCH_OUTAGE_DEBTORS (60: a third just before the outage, the rest during it),
 * PORT (8200), EMBEDDED_PG_PORT (54332). No assertions on timings; exits 1 if a text is missing or doubled.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startOrchestrator } from '../src/composition.js';
import { loadConfig } from '../src/config.js';
import { signToken } from '../src/http/auth.js';
import { createLogger } from '../src/logger.js';

const OUTAGE_MS = Number(process.env.BENCH_OUTAGE_MS ?? 180_000);
const DEBTORS = Number(process.env.BENCH_OUTAGE_DEBTORS ?? 60);
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

const dataDir = mkdtempSync(path.join(tmpdir(), 'sms-outage-'));
chmodSync(dataDir, 0o755);
const config = loadConfig({
  NODE_ENV: 'development',
  PORT: process.env.PORT ?? '8200',
  EMBEDDED_PG_PORT: process.env.EMBEDDED_PG_PORT ?? '54332',
  DATA_DIR: dataDir,
  SIMULATOR_BASE_PORT: '0',
  JWT_SECRET: SECRET,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  IDENTITY_CHECK: 'off',
});
const orchestrator = await startOrchestrator(config, createLogger({ level: config.logLevel }));
const simulators = orchestrator.simulators!;
const service = `Bearer ${signToken(SECRET, 'service', 'sms-agent', '1h')}`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const debtors = Array.from({ length: DEBTORS }, (_, n) => ({ id: `outage-${n}`, phone: `+1555094${String(n).padStart(4, '0')}` }));

async function textIn(debtor: (typeof debtors)[number]) {
  const response = await fetch(`${orchestrator.url}/orchestrate/sms-received`, {
    method: 'POST',
    headers: { authorization: service, 'content-type': 'application/json', 'idempotency-key': `${debtor.id}-1` },
    body: JSON.stringify({ tenant_id: 'tenant-outage', phone_number: debtor.phone, content: 'Hi, what is my balance?', conversation_id: debtor.id }),
  });
  if (response.status !== 202) throw new Error(`sms-received answered ${response.status}`);
}
const fault = (spec: object | null) =>
  fetch(`${simulators.urls.smsAgent}/_control/faults`, spec ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) } : { method: 'DELETE' });
const states = async () =>
  (await orchestrator.db.selectFrom('conversations').select(['id', 'state']).where('tenant_id', '=', 'tenant-outage').execute()).reduce<Record<string, number>>(
    (counts, row) => ({ ...counts, [row.state]: (counts[row.state] ?? 0) + 1 }),
    {},
  );

try {
  const before = debtors.slice(0, Math.floor(DEBTORS / 3));
  const during = debtors.slice(before.length);
  await Promise.all(before.map(textIn));
  const outageStarted = Date.now();
  await fault({ mode: 'down', status: 503 });
  console.log(`outage: SMS Agent down for ${OUTAGE_MS / 1000} s; ${before.length} debtors texted just before, ${during.length} text during it`);
  // The rest text in, spread over the first two thirds of the outage.
  const spread = (OUTAGE_MS * 2) / 3 / during.length;
  for (const debtor of during) {
    await textIn(debtor);
    await pause(spread);
  }
  await pause(Math.max(0, outageStarted + OUTAGE_MS - Date.now()));
  console.log(`end of outage: conversations by state ${JSON.stringify(await states())}; texts sent ${simulators.sms.sent.length}`);
  await fault(null);
  const recovered = Date.now();

  let last = '';
  while (Date.now() - recovered < 10 * 60_000) {
    const counts = await states();
    last = JSON.stringify(counts);
    if ((counts.awaitingReply ?? 0) + (counts.failed ?? 0) === DEBTORS) break;
    await pause(1_000);
  }
  const sentTo = new Map<string, number>();
  for (const sms of simulators.sms.sent) sentTo.set(sms.to, (sentTo.get(sms.to) ?? 0) + 1);
  const handedOver = new Map<string, number>();
  for (const arrival of simulators.sms.arrivals) handedOver.set(arrival.to, (handedOver.get(arrival.to) ?? 0) + 1);
  const once = debtors.filter((debtor) => sentTo.get(debtor.phone) === 1).length;
  const missing = debtors.filter((debtor) => !sentTo.has(debtor.phone)).length;
  const doubled = debtors.filter((debtor) => (sentTo.get(debtor.phone) ?? 0) > 1).length;
  const lastSentAt = Math.max(...simulators.sms.sent.map((sms) => sms.receivedAtMs));
  const staffFailed = simulators.notifications.received.filter((note) => note.metadata?.kind === 'failed').length;
  console.log(
    `after recovery: states ${last}; ${once}/${DEBTORS} debtors got their reply exactly once, ${missing} none, ${doubled} more than once; ` +
      `${simulators.sms.arrivals.length} send requests reached the agent (${[...handedOver.values()].filter((n) => n > 1).length} numbers more than once, ` +
      `replays answered by Idempotency-Key), last text ${((lastSentAt - recovered) / 1000).toFixed(1)} s after recovery; ` +
      `staff told of failures: ${staffFailed}; manager actions: 0`,
  );
  process.exitCode = once === DEBTORS && staffFailed === 0 ? 0 : 1;
} finally {
  await orchestrator.close();
}
