import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { loadConfig, parseDuration } from '../../src/config.js';

/** A complete production environment, less the one variable a test is about. */
const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: 'x'.repeat(32),
  OUTBOUND_JWT_SECRET: 'y'.repeat(32),
  CONVERSATION_ID_SECRET: 'z'.repeat(32),
  AGENCY_NAME: 'Midwest Recovery',
  DATABASE_URL: 'postgres://db/x',
  COLLECTIONS_MONITOR_URL: 'http://cm:8001',
  SMS_AGENT_URL: 'http://sms:8002',
  NOTIFICATION_SERVICE_URL: 'http://ns:8003',
};
const without = (name: keyof typeof PRODUCTION) => Object.fromEntries(Object.entries(PRODUCTION).filter(([key]) => key !== name));

describe('config', () => {
  it('when nothing is set, then the embedded defaults apply', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.routing).toEqual({ autoSendAbove: 0.85, reviewAtLeast: 0.6 });
    expect(config.timers.noReplyMs).toBe(36 * 3_600_000);
    expect(config.openai.model).toBe('gpt-4-turbo');
  });

  it('when a duration has a unit, then it is read in milliseconds', () => {
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('soon')).toThrow('not a duration');
  });

  it('when a value is invalid, then boot fails naming it', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ AUTO_SEND_ABOVE: '0.5', REVIEW_AT_LEAST: '0.7' })).toThrow(/REVIEW_AT_LEAST/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
  });

  it('when a value is empty, zero where zero means nothing, or a URL of the wrong kind, then boot fails naming it', () => {
    expect(() => loadConfig({ PORT: '' })).toThrow(/PORT: expected a port number/);
    expect(() => loadConfig({ EMBEDDED_PG_PORT: '0' })).toThrow(/EMBEDDED_PG_PORT/);
    for (const name of ['NO_REPLY_TIMEOUT', 'APPROVAL_SLA', 'SERVICE_TIMEOUT', 'OPENAI_TIMEOUT', 'WORKER_SWEEP_INTERVAL', 'JWT_MAX_AGE', 'HTTP_KEEP_ALIVE_TIMEOUT']) {
      expect(() => loadConfig({ [name]: '0' })).toThrow(new RegExp(`${name}: must be longer than 0`));
    }
    // Zero means something here: no reply outside calling hours, no grace after a missed instalment.
    expect(loadConfig({ REPLY_WINDOW: '0', PLAN_GRACE_PERIOD: '0' })).toMatchObject({ contactWindow: { replyWindowMs: 0 }, negotiation: { timers: { graceMs: 0 } } });
    expect(() => loadConfig({ JWT_JWKS_URL: 'file:///etc/passwd' })).toThrow(/JWT_JWKS_URL: expected an http/);
    expect(() => loadConfig({ COLLECTIONS_MONITOR_URL: 'ftp://cm' })).toThrow(/COLLECTIONS_MONITOR_URL: expected an http/);
    expect(() => loadConfig({ OPENAI_BASE_URL: 'javascript:alert(1)' })).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'not-a-url' })).toThrow(/DATABASE_URL: expected a postgres/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/x' })).toThrow(/DATABASE_URL/);
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@db:6543/postgres?sslmode=require', PORT: ' 8080 ' })).toMatchObject({ port: 8080 });
  });

  it('when production lacks a database or a service URL, then boot fails instead of falling back to local stand-ins', () => {
    const secret = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), OUTBOUND_JWT_SECRET: 'y'.repeat(32), CONVERSATION_ID_SECRET: 'z'.repeat(32), AGENCY_NAME: 'Midwest Recovery' };
    const urls = { COLLECTIONS_MONITOR_URL: 'http://cm:8001', SMS_AGENT_URL: 'http://sms:8002', NOTIFICATION_SERVICE_URL: 'http://ns:8003' };
    expect(() => loadConfig({ ...secret, ...urls })).toThrow(/DATABASE_URL is required/);
    expect(() => loadConfig({ ...secret, DATABASE_URL: 'postgres://db/x', SMS_AGENT_URL: urls.SMS_AGENT_URL })).toThrow(/SMS_AGENT_URL/);
    expect(loadConfig({ ...secret, ...urls, DATABASE_URL: 'postgres://db/x' }).services.smsAgent).toBe('http://sms:8002');
  });

  it('when nothing is set, then outbound tokens are signed with a development secret that our API does not accept', () => {
    const config = loadConfig({});
    expect(config.outboundJwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(config.outboundJwt.secret).not.toBe(config.jwtSecret);
    expect(config.outboundJwt.audience).toBeUndefined();
    expect(loadConfig({ OUTBOUND_JWT_AUDIENCE: 'downstream' }).outboundJwt.audience).toBe('downstream');
  });

  it('when production lacks OUTBOUND_JWT_SECRET, or it repeats JWT_SECRET or is short, then boot fails naming it', () => {
    const production = without('OUTBOUND_JWT_SECRET');
    expect(() => loadConfig(production)).toThrow(/OUTBOUND_JWT_SECRET is required in production/);
    expect(() => loadConfig({ ...production, OUTBOUND_JWT_SECRET: 'x'.repeat(32) })).toThrow(/OUTBOUND_JWT_SECRET must differ from JWT_SECRET/);
    expect(() => loadConfig({ OUTBOUND_JWT_SECRET: 'short' })).toThrow(/OUTBOUND_JWT_SECRET must be at least 32 characters/);
    expect(loadConfig({ ...production, OUTBOUND_JWT_SECRET: 'y'.repeat(32) }).outboundJwt.secret).toBe('y'.repeat(32));
  });

  it('when DB_POOL_SIZE is unset, then the pool is 20 whatever the worker concurrency (jobs hold no connection while they run)', () => {
    expect(loadConfig({}).dbPoolSize).toBe(20);
    expect(loadConfig({}).worker.concurrency).toBe(100);
    expect(loadConfig({ WORKER_CONCURRENCY: '500' }).dbPoolSize).toBe(20);
    expect(loadConfig({ DB_POOL_SIZE: '8', WORKER_CONCURRENCY: '2' }).dbPoolSize).toBe(8);
    expect(loadConfig({ DB_POOL_SIZE: '20', WORKER_CONCURRENCY: '300' }).dbPoolSize).toBe(20);
    expect(() => loadConfig({ DB_POOL_SIZE: '3' })).toThrow(/DB_POOL_SIZE must be at least 4 when the worker runs/);
    expect(loadConfig({ DB_POOL_SIZE: '1', RUN_WORKER: '0' }).dbPoolSize).toBe(1);
    expect(() => loadConfig({ WORKER_CONCURRENCY: '1001' })).toThrow(/WORKER_CONCURRENCY/);
  });

  it('when nothing about compliance is set, then development names Acme Recovery, four segments, no fee language', () => {
    expect(loadConfig({}).compliance).toEqual({ agencyName: 'Acme Recovery', maxSegments: 4, allowFees: false });
    expect(loadConfig({ AGENCY_NAME: '  Midwest   Recovery ', SMS_MAX_SEGMENTS: '2', ALLOW_FEE_LANGUAGE: 'true' }).compliance).toEqual({
      agencyName: 'Midwest Recovery',
      maxSegments: 2,
      allowFees: true,
    });
  });

  it('when AGENCY_NAME is missing in production, blank or too long, then boot fails naming it', () => {
    const production = without('AGENCY_NAME');
    expect(() => loadConfig(production)).toThrow(/AGENCY_NAME is required in production/);
    expect(() => loadConfig({ AGENCY_NAME: '   ' })).toThrow(/AGENCY_NAME/);
    expect(() => loadConfig({ AGENCY_NAME: 'x'.repeat(41) })).toThrow(/AGENCY_NAME/);
    expect(() => loadConfig({ SMS_MAX_SEGMENTS: '0' })).toThrow(/SMS_MAX_SEGMENTS/);
  });

  it('when production lacks CONVERSATION_ID_SECRET, then boot fails naming it; elsewhere a development secret keys the ids', () => {
    const production = without('CONVERSATION_ID_SECRET');
    expect(() => loadConfig(production)).toThrow(/CONVERSATION_ID_SECRET is required in production/);
    expect(() => loadConfig({ CONVERSATION_ID_SECRET: 'short' })).toThrow(/CONVERSATION_ID_SECRET must be at least 32 characters/);
    expect(loadConfig({ ...production, CONVERSATION_ID_SECRET: 'z'.repeat(32) }).conversationIdSecret).toBe('z'.repeat(32));
    expect(loadConfig({}).conversationIdSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('when METRICS_TOKEN or METRICS_PORT is set, then they are read; a short token, a token with spaces or the API\'s own port fail naming them', () => {
    expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined });
    expect(loadConfig({ METRICS_TOKEN: 'scrape-0123456789abcdef', METRICS_PORT: '9464' }).metrics).toEqual({ token: 'scrape-0123456789abcdef', port: 9464 });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 characters/);
    expect(() => loadConfig({ METRICS_TOKEN: 'has a space in it, long enough' })).toThrow(/METRICS_TOKEN must not contain spaces/);
    expect(() => loadConfig({ PORT: '9000', METRICS_PORT: '9000' })).toThrow(/METRICS_PORT must differ from PORT/);
  });

  it('when JWT_MAX_AGE is unset, then tokens may live 24 hours; a duration sets it', () => {
    expect(loadConfig({}).jwtMaxAgeMs).toBe(24 * 3_600_000);
    expect(loadConfig({ JWT_MAX_AGE: '2h' }).jwtMaxAgeMs).toBe(7_200_000);
    expect(() => loadConfig({ JWT_MAX_AGE: 'forever' })).toThrow(/JWT_MAX_AGE/);
    expect(() => loadConfig({ JWT_MAX_AGE: '0' })).toThrow(/JWT_MAX_AGE/);
  });

  it('when ORG_ID is unset, then development serves dev-org and production none; JWKS, issuer and audience are off until set', () => {
    const production = PRODUCTION;
    expect(loadConfig({}).auth).toEqual({ jwksUrl: undefined, issuer: undefined, audience: undefined, orgId: 'dev-org' });
    expect(loadConfig(production).auth.orgId).toBeUndefined();
    expect(loadConfig({ ...production, ORG_ID: 'acme' }).auth.orgId).toBe('acme');
    const supabase = { JWT_JWKS_URL: 'https://p.supabase.co/auth/v1/.well-known/jwks.json', JWT_ISSUER: 'https://p.supabase.co/auth/v1', JWT_AUDIENCE: 'authenticated' };
    expect(loadConfig(supabase).auth).toMatchObject({ jwksUrl: supabase.JWT_JWKS_URL, issuer: supabase.JWT_ISSUER, audience: 'authenticated' });
    expect(() => loadConfig({ JWT_JWKS_URL: 'not a url' })).toThrow(/JWT_JWKS_URL/);
  });

  it('when DATABASE_DIRECT_URL is unset, then workers and migrations use DATABASE_URL; set alone, boot fails naming it', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://pooler:6543/x' }).databaseDirectUrl).toBe('postgres://pooler:6543/x');
    expect(loadConfig({ DATABASE_URL: 'postgres://pooler:6543/x', DATABASE_DIRECT_URL: 'postgres://db:5432/x' }).databaseDirectUrl).toBe('postgres://db:5432/x');
    expect(loadConfig({}).databaseDirectUrl).toBeUndefined();
    expect(() => loadConfig({ DATABASE_DIRECT_URL: 'postgres://db:5432/x' })).toThrow(/DATABASE_DIRECT_URL: DATABASE_DIRECT_URL goes with DATABASE_URL/);
  });

  it('when .env.example is read, then it lists every variable the config reads', () => {
    const source = readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8');
    const read = [...source.matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1]);
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    expect(read.length).toBeGreaterThan(30);
    expect(read.filter((name) => !new RegExp(`^# ${name}=`, 'm').test(example))).toEqual([]);
  });
});
