import { describe, expect, it } from '@jest/globals';
import { loadConfig, parseDuration } from '../../src/config.js';

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

  it('when production lacks a database or a service URL, then boot fails instead of falling back to local stand-ins', () => {
    const secret = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };
    const urls = { COLLECTIONS_MONITOR_URL: 'http://cm:8001', SMS_AGENT_URL: 'http://sms:8002', NOTIFICATION_SERVICE_URL: 'http://ns:8003' };
    expect(() => loadConfig({ ...secret, ...urls })).toThrow(/DATABASE_URL is required/);
    expect(() => loadConfig({ ...secret, DATABASE_URL: 'postgres://db/x', SMS_AGENT_URL: urls.SMS_AGENT_URL })).toThrow(/SMS_AGENT_URL/);
    expect(loadConfig({ ...secret, ...urls, DATABASE_URL: 'postgres://db/x' }).services.smsAgent).toBe('http://sms:8002');
  });
});
