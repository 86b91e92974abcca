import { describe, expect, it } from '@jest/globals';
import type { Db } from '../../src/db/database.js';
import type { BreakerState, CallOutcome } from '../../src/adapters/clients/index.js';
import { createDependencyProbe, type DependencyProbeOptions } from '../../src/http/dependency-health.js';

/** /health/dependencies in the dashboard's words: every dependency probed, cached, a send-only outage shown. */

const URLS = { collections_monitor: 'http://monitor', sms_agent: 'http://sms', notification_service: 'http://notify' };
/** A kysely stand-in that answers `select 1` (or fails). */
const fakeDb = (up: boolean) => ({ getExecutor: () => ({ transformQuery: (q: unknown) => q, compileQuery: (q: unknown) => ({ query: q, sql: 'select 1', parameters: [] }), executeQuery: async () => { if (!up) throw new Error('down'); return { rows: [{ '?column?': 1 }] }; } }) }) as unknown as Db;

function probeWith(overrides: Partial<DependencyProbeOptions> & { statuses?: Record<string, number>; breaker?: BreakerState; send?: CallOutcome | null } = {}) {
  const calls: string[] = [];
  const probe = createDependencyProbe({
    db: fakeDb(true),
    serviceUrls: URLS,
    breakers: { sms_agent: () => overrides.breaker ?? 'closed', collections_monitor: () => 'closed', notification_service: () => 'closed' },
    lastOutcome: { sms_agent: (operation) => (operation === 'sms.send' ? (overrides.send ?? null) : null) },
    openai: null,
    clock: () => 1_000_000,
    httpProbe: async (url) => {
      calls.push(url);
      return Object.entries(overrides.statuses ?? {}).find(([prefix]) => url.startsWith(prefix))?.[1] ?? 200;
    },
    ...overrides,
  });
  return { probe, calls };
}

describe('dependency health', () => {
  it('when every probe answers, then all six are healthy and the rules drafter counts as a healthy openai', async () => {
    const report = await probeWith().probe();
    expect(report).toMatchObject({ orchestrator: 'healthy', sms_agent: 'healthy', collections_monitor: 'healthy', notification_service: 'healthy', supabase: 'healthy', openai: 'healthy' });
    expect(report.details.openai).toEqual({ status: 'not_configured', drafter: 'rules' });
  });

  it('when the SMS Agent answers its health probe but the last send failed a moment ago, then it is degraded, and so is the orchestrator', async () => {
    const report = await probeWith({ send: { ok: false, at: 1_000_000 - 30_000 } }).probe();
    expect(report.sms_agent).toBe('degraded');
    expect(report.orchestrator).toBe('degraded');
  });

  it('when the last send failed long ago, or succeeded, then the SMS Agent is healthy', async () => {
    expect((await probeWith({ send: { ok: false, at: 1_000_000 - 600_000 } }).probe()).sms_agent).toBe('healthy');
    expect((await probeWith({ send: { ok: true, at: 1_000_000 } }).probe()).sms_agent).toBe('healthy');
  });

  it("when the SMS Agent's breaker is open while its health probe answers, then it is degraded", async () => {
    expect((await probeWith({ breaker: 'open' }).probe()).sms_agent).toBe('degraded');
  });

  it('when a service does not answer or answers 5xx, then it is down', async () => {
    const report = await probeWith({ statuses: { 'http://monitor': 0, 'http://notify': 503 } }).probe();
    expect(report).toMatchObject({ collections_monitor: 'down', notification_service: 'down', orchestrator: 'degraded' });
  });

  it('when the database is down, then supabase and the orchestrator are down', async () => {
    const report = await probeWith({ db: fakeDb(false) }).probe();
    expect(report).toMatchObject({ supabase: 'down', orchestrator: 'down' });
  });

  it('when OpenAI is configured, then its models endpoint is probed: 2xx healthy, 429 degraded, 401 down', async () => {
    const openai = { apiKey: 'sk-test', baseUrl: 'http://model/v1' };
    expect((await probeWith({ openai, statuses: { 'http://model': 200 } }).probe()).openai).toBe('healthy');
    expect((await probeWith({ openai, statuses: { 'http://model': 429 } }).probe()).openai).toBe('degraded');
    expect((await probeWith({ openai, statuses: { 'http://model': 401 } }).probe()).openai).toBe('down');
  });

  it('when asked again within the cache period, then nothing is probed again', async () => {
    const { probe, calls } = probeWith();
    await probe();
    await probe();
    expect(calls).toHaveLength(3);
  });
});
