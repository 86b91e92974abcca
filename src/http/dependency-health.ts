import { request } from 'undici';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { BreakerState, CallOutcome } from '../adapters/clients/index.js';

/**
 * What `/health/dependencies` answers, in the collections dashboard's three words. Each dependency is
 * actually probed (a short timeout each, all at once), and the report is cached, so a dashboard polling
 * every few seconds from many tabs costs one round of probes per `cacheMs`.
 *
 * - `supabase`: `select 1` on whatever DATABASE_URL points at (the embedded Postgres without one).
 * - the three services: `GET <url>/health`. Unreachable or not 2xx: `down`. Reachable, but the breaker is
 *   not closed, or (the SMS Agent) the last send failed recently: `degraded` — a send-only outage shows.
 * - `openai`: `GET <base>/models` with the key when the openai drafter is in use. With the offline rules
 *   drafter there is nothing to be down: `healthy`, and `details.openai` says `not_configured`.
 * - `orchestrator`: `down` when the database is, `degraded` when anything else is not healthy.
 */
export type HealthWord = 'healthy' | 'degraded' | 'down';
export const SERVICE_NAMES = ['collections_monitor', 'sms_agent', 'notification_service'] as const;
type ServiceName = (typeof SERVICE_NAMES)[number];

export interface DependencyReport {
  orchestrator: HealthWord;
  sms_agent: HealthWord;
  collections_monitor: HealthWord;
  notification_service: HealthWord;
  supabase: HealthWord;
  openai: HealthWord;
  details: Record<string, Record<string, unknown>>;
  checked_at: string;
}

export interface DependencyProbeOptions {
  db: Db;
  serviceUrls: Record<ServiceName, string>;
  breakers: Record<string, () => BreakerState>;
  lastOutcome: Record<string, (operation: string) => CallOutcome | null>;
  openai: { apiKey?: string; baseUrl?: string } | null;
  timeoutMs?: number;
  cacheMs?: number;
  /** A failed send newer than this, with no success since, makes the SMS Agent `degraded`. */
  sendFailureWindowMs?: number;
  clock?: () => number;
  /** Replaces the HTTP probe (tests). */
  httpProbe?: (url: string, headers: Record<string, string>, timeoutMs: number) => Promise<number>;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;
export const DEFAULT_HEALTH_CACHE_MS = 10_000;
export const DEFAULT_SEND_FAILURE_WINDOW_MS = 5 * 60_000;

/** Status code of a GET, or 0 when there was no answer in time. */
async function httpStatus(url: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  try {
    const response = await request(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  return Promise.race([promise.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

export function createDependencyProbe(options: DependencyProbeOptions): () => Promise<DependencyReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? DEFAULT_HEALTH_CACHE_MS;
  const window = options.sendFailureWindowMs ?? DEFAULT_SEND_FAILURE_WINDOW_MS;
  const clock = options.clock ?? Date.now;
  const probeHttp = options.httpProbe ?? httpStatus;
  let cached: { at: number; report: Promise<DependencyReport> } | null = null;

  async function service(name: ServiceName): Promise<[HealthWord, Record<string, unknown>]> {
    const status = await probeHttp(`${options.serviceUrls[name].replace(/\/$/, '')}/health`, {}, timeoutMs);
    const breaker = options.breakers[name]?.() ?? 'closed';
    const details: Record<string, unknown> = { probe: status === 0 ? 'no_answer' : status, breaker };
    if (status < 200 || status >= 300) return ['down', details];
    if (breaker !== 'closed') return ['degraded', details];
    if (name === 'sms_agent') {
      const send = options.lastOutcome[name]?.('sms.send') ?? null;
      details.last_send = send ? { ok: send.ok, at: new Date(send.at).toISOString() } : null;
      if (send && !send.ok && clock() - send.at < window) return ['degraded', details];
    }
    return ['healthy', details];
  }

  async function database(): Promise<[HealthWord, Record<string, unknown>]> {
    const started = clock();
    const ok = await withTimeout(sql`select 1`.execute(options.db).then(() => true), timeoutMs, false);
    return [ok ? 'healthy' : 'down', { probe: ok ? 'ok' : 'failed', ms: clock() - started }];
  }

  async function openai(): Promise<[HealthWord, Record<string, unknown>]> {
    if (!options.openai?.apiKey) return ['healthy', { status: 'not_configured', drafter: 'rules' }];
    const base = (options.openai.baseUrl ?? 'https://api.openai.com/v1').replace(/\/$/, '');
    const status = await probeHttp(`${base}/models`, { authorization: `Bearer ${options.openai.apiKey}` }, timeoutMs);
    const details = { probe: status === 0 ? 'no_answer' : status, drafter: 'openai' };
    if (status >= 200 && status < 300) return ['healthy', details];
    // Rate-limited is slow, not out; anything else (no answer, 401, 5xx) means drafts fall to people.
    return [status === 429 ? 'degraded' : 'down', details];
  }

  async function probe(): Promise<DependencyReport> {
    const [supabase, monitor, sms, notifications, model] = await Promise.all([
      database(),
      service('collections_monitor'),
      service('sms_agent'),
      service('notification_service'),
      openai(),
    ]);
    const others = [monitor[0], sms[0], notifications[0], model[0]];
    const orchestrator: HealthWord = supabase[0] === 'down' ? 'down' : others.every((word) => word === 'healthy') ? 'healthy' : 'degraded';
    return {
      orchestrator,
      sms_agent: sms[0],
      collections_monitor: monitor[0],
      notification_service: notifications[0],
      supabase: supabase[0],
      openai: model[0],
      details: { supabase: supabase[1], collections_monitor: monitor[1], sms_agent: sms[1], notification_service: notifications[1], openai: model[1] },
      checked_at: new Date(clock()).toISOString(),
    };
  }

  return () => {
    const now = clock();
    if (!cached || now - cached.at >= cacheMs) cached = { at: now, report: probe() };
    return cached.report;
  };
}
